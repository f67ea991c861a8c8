package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newDown is `xenlab down`: remove everything the lab created on its
// hosts, and nothing else. It asks first on a terminal and needs --yes
// elsewhere. Its host work is not built yet.
func newDown(io IO) *cobra.Command {
	var lab labFlags
	var yes bool
	c := &cobra.Command{
		Use:   "down",
		Short: "remove everything this lab created on the host, and nothing else",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			ok, err := confirm(c.Context(), io, yes, fmt.Sprintf("Remove everything lab %q created on its host(s)?", l.cfg.Lab))
			if err != nil || !ok {
				return err
			}
			// To wire: return runSteps(c.Context(), io, l, steps.Teardown(l.cfg, l.hosts), true, nil)
			return notBuiltError{"tearing down a lab"}
		},
	}
	lab.register(c)
	lab.registerRun(c)
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when not on a terminal)")
	return c
}
