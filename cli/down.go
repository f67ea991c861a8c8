package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newDown is `xenlab down`: remove everything the lab created on its
// hosts, and nothing else. It lists what it will remove (and what stays),
// then asks on a terminal and needs --yes elsewhere; with nothing to remove
// it says so. It is the engine's Destroy over the bring-up steps, newest
// first; each step removes only what carries this lab's ownership tag. On
// the built-in lab it then stops the kept simulated host and removes its
// state directory, unless --keep-host.
func newDown(io IO) *cobra.Command {
	var lab labFlags
	var yes, purge, keepHost bool
	c := &cobra.Command{
		Use:   "down",
		Short: "remove everything this lab created on the host, and nothing else",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			var notUp labNotUp
			if errors.As(err, &notUp) {
				return downNotUp(io, notUp)
			}
			if err != nil {
				return err
			}
			defer l.close()
			if keepHost && l.kept == nil {
				return usageError{"--keep-host is for the built-in lab (no lab file): xenlab never stops a host it did not start"}
			}
			nothing := listRemoval(c.Context(), io, l, purge, keepHost)
			if !nothing {
				ok, err := confirm(c.Context(), io, yes, fmt.Sprintf("Remove all of this from lab %q?", l.cfg.Lab))
				if err != nil || !ok {
					return err
				}
			}
			var opts []steps.Option
			if purge {
				opts = append(opts, steps.PurgeTemplate())
			}
			if err := l.scrub(runSteps(c.Context(), io, l, steps.Fleet(l.cfg, l.hosts, opts...), true, nil)); err != nil {
				if l.kept != nil {
					fmt.Fprintf(io.Err, "the built-in simulated host keeps running (pid %d, %s) so that down can be run again\n", l.kept.PID, l.kept.Dir)
				}
				return err
			}
			if nothing {
				fmt.Fprintf(io.Err, "nothing to remove: lab %q had no objects on %s\n", l.cfg.Lab, labHostNames(l))
			}
			if l.kept == nil {
				return nil
			}
			if keepHost {
				fmt.Fprintf(io.Err, "the built-in simulated host keeps running (pid %d, %s): `xenlab up` uses it again, `xenlab sim stop` stops it\n",
					l.kept.PID, l.kept.Dir)
				return nil
			}
			l.close() // release the host lock and log out before the host goes
			if err := removeKept(l.kept.Name); err != nil {
				return err
			}
			fmt.Fprintf(io.Err, "stopped the built-in simulated host (pid %d) and removed %s\n", l.kept.PID, l.kept.Dir)
			return nil
		},
	}
	lab.register(c)
	lab.registerRun(c)
	c.Flags().BoolVar(&purge, "purge-template", false, "also remove the lab's cached domU template (kept by default, so the next up clones it in seconds)")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when not on a terminal)")
	c.Flags().BoolVar(&keepHost, "keep-host", false, "on the built-in lab (no lab file): keep the simulated host running after the lab is removed")
	return c
}

// downNotUp is down without a lab file when the built-in lab is not up: a
// stopped kept host's state directory (which holds the lab) is removed;
// with none there is nothing to remove. Either way down succeeds.
func downNotUp(io IO, e labNotUp) error {
	if e.state == keptStopped {
		if err := removeKept(builtinName); err != nil {
			return err
		}
		fmt.Fprintf(io.Err, "the built-in simulated host was not running: removed its state directory %s, and the lab with it\n", e.dir)
		return nil
	}
	fmt.Fprintf(io.Err, "nothing to remove: no %s here, and no lab on the built-in simulated host\n", e.file)
	return nil
}

// listRemoval prints, on stderr, what down will remove from each host and
// what stays, and reports whether there is nothing to remove. A host it
// cannot read is listed as such: down's run on it fails and says why.
func listRemoval(ctx context.Context, io IO, l *openedLab, purge, keepHost bool) (nothing bool) {
	nothing = true
	var b strings.Builder
	for _, h := range l.hosts {
		remove, kept, err := steps.Removal(ctx, l.cfg, h, purge)
		if err != nil {
			// Down tries it anyway, and its run says why once.
			nothing = false
			fmt.Fprintf(&b, "host %s: what down would remove could not be read (the run below says why)\n", h.Name())
			continue
		}
		if len(remove) == 0 {
			fmt.Fprintf(&b, "host %s: no object of lab %q\n", h.Name(), l.cfg.Lab)
		} else {
			nothing = false
			fmt.Fprintf(&b, "host %s: down removes\n", h.Name())
			for _, r := range remove {
				fmt.Fprintf(&b, "  - %s\n", r)
			}
			fmt.Fprintf(&b, "  - in dom0, xenlab's netwrap plugin; in domU first, what devstack's unstack.sh stops\n")
		}
		for i, k := range kept {
			if i == 0 {
				fmt.Fprintf(&b, "host %s: stays\n", h.Name())
			}
			fmt.Fprintf(&b, "  - %s\n", k)
		}
	}
	if l.kept != nil && !keepHost {
		fmt.Fprintf(&b, "then the built-in simulated host (pid %d) stops and %s is removed (--keep-host keeps them)\n", l.kept.PID, l.kept.Dir)
	}
	fmt.Fprint(io.Err, b.String())
	return nothing
}

// labHostNames names the lab's selected hosts for a message.
func labHostNames(l *openedLab) string {
	var names []string
	for _, h := range l.hosts {
		names = append(names, h.Name())
	}
	if len(names) == 1 {
		return "host " + names[0]
	}
	return "hosts " + strings.Join(names, ", ")
}
