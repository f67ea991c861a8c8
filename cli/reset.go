package cli

import "github.com/spf13/cobra"

// newReset is `xenlab reset`: revert the lab to its clean post-install
// snapshot. Its host work is not built yet.
func newReset(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "reset",
		Short: "revert the lab to its clean post-install snapshot",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			// To wire: return runSteps(c.Context(), io, l, steps.Reset(l.cfg, l.hosts), false, nil)
			return notBuiltError{"`xenlab reset`"}
		},
	}
	lab.register(c)
	lab.registerRun(c)
	return c
}
