package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newDown is `xenlab down`: remove everything the lab created on its
// hosts, and nothing else. It asks first on a terminal and needs --yes
// elsewhere. It is the engine's Destroy over the bring-up steps, newest
// first; each step removes only what carries this lab's ownership tag.
func newDown(io IO) *cobra.Command {
	var lab labFlags
	var yes, purge bool
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
			var opts []steps.Option
			if purge {
				opts = append(opts, steps.PurgeTemplate())
			}
			return l.scrub(runSteps(c.Context(), io, l, steps.Fleet(l.cfg, l.hosts, opts...), true, nil))
		},
	}
	lab.register(c)
	lab.registerRun(c)
	c.Flags().BoolVar(&purge, "purge-template", false, "also remove the lab's cached domU template (kept by default, so the next up clones it in seconds)")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when not on a terminal)")
	return c
}
