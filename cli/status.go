package cli

import "github.com/spf13/cobra"

// newStatus is `xenlab status`: the lab's networks, bridges, domU, agents
// and VLAN mappings. Its host work is not built yet.
func newStatus(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "status",
		Short: "show networks, bridges, domU, agents and VLAN mappings",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			// To wire: return steps.Status(c.Context(), l.cfg, l.hosts, io.Out, lab.json)
			return notBuiltError{"`xenlab status`"}
		},
	}
	lab.register(c)
	return c
}
