package cli

import "github.com/spf13/cobra"

// newLogs is `xenlab logs DIR`: collect dom0 and domU logs into DIR. Its
// host work is not built yet.
func newLogs(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "logs DIR",
		Short: "collect dom0 and domU logs into a directory",
		Args:  args(1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			// To wire: return steps.CollectLogs(c.Context(), l.cfg, l.hosts, args[0])
			return notBuiltError{"collecting logs from dom0 and domU"}
		},
	}
	lab.register(c)
	return c
}
