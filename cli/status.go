package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
			// A host that cannot be read does not hide the others: they
			// are shown, and the error names every host that failed.
			var reports []*steps.StatusReport
			var failed []string
			var errs []error
			for _, h := range l.hosts {
				r, err := steps.Status(c.Context(), l.cfg, h)
				if err != nil {
					failed = append(failed, h.Name())
					errs = append(errs, fmt.Errorf("host %s: %w", h.Name(), err))
					continue
				}
				reports = append(reports, r)
			}
			if err := writeStatus(io, lab.json, len(l.hosts) > 1, reports); err != nil {
				return err
			}
			switch {
			case len(errs) == 1 && len(l.hosts) == 1:
				return l.scrub(errs[0])
			case len(errs) > 0:
				return l.scrub(fmt.Errorf("%d of %d hosts failed (%s): %w",
					len(failed), len(l.hosts), strings.Join(failed, ", "), errors.Join(errs...)))
			}
			return nil
		},
	}
	lab.register(c)
	return c
}

// writeStatus prints the hosts' reports: one JSON document (the host's
// report, or {"hosts": [...]} for a fleet), or text.
func writeStatus(io IO, asJSON, fleet bool, reports []*steps.StatusReport) error {
	if len(reports) == 0 {
		return nil
	}
	if asJSON {
		e := json.NewEncoder(io.Out)
		e.SetIndent("", "  ")
		if !fleet {
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
}
