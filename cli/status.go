package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newStatus is `xenlab status`: what the walk-through shows of the lab,
// read (only read) from each host: the lab's networks and their bridges,
// dom0's switch cut to the lab's bridges with the VLAN-4095 placeholder
// marked, and domU's power state and IP. --json gives one document.
func newStatus(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "status",
		Short: "show the lab's networks, dom0 bridges (the 4095 placeholder marked) and domU",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			var reports []*steps.StatusReport
			for _, h := range l.hosts {
				r, err := steps.Status(c.Context(), l.cfg, h)
				if err != nil {
					return l.scrub(fmt.Errorf("host %s: %w", h.Name(), err))
				}
				reports = append(reports, r)
			}
			if lab.json {
				e := json.NewEncoder(io.Out)
				e.SetIndent("", "  ")
				if len(reports) == 1 {
					return e.Encode(reports[0])
				}
				return e.Encode(map[string]any{"hosts": reports})
			}
			for i, r := range reports {
				if i > 0 {
					fmt.Fprintln(io.Out)
				}
				if err := r.WriteText(io.Out); err != nil {
					return err
				}
			}
			return nil
		},
	}
	lab.register(c)
	return c
}
