package cli

import (
	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newUp is `xenlab up`: bring up (or converge) the lab. It runs the
// bring-up graph (steps.Fleet, each host's steps.BringUp) through the
// engine; when every step succeeded it shows the walk-through's view of
// the lab (writeView, what `xenlab status` prints) before the timing table.
func newUp(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "up",
		Short: "bring up (or converge) the lab described by the lab file",
		Long: `Bring up (or converge) the lab described by the lab file: every step whose work is
not done runs, independent ones in parallel. Without -f and without ./lab.hcl the lab is
the built-in simulated XenServer host.`,
		Args: args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, true)
			if err != nil {
				return err
			}
			defer l.close()
			views := &steps.Views{} // verify leaves what it read for the closing view
			return l.scrub(runSteps(c.Context(), io, l, steps.Fleet(l.cfg, l.hosts, steps.KeepViews(views)), false, func() error {
				return writeView(c.Context(), io, l, views)
			}))
		},
	}
	lab.register(c)
	lab.registerRun(c)
	lab.registerOnError(c)
	return c
}
