package cli

import (
	"fmt"
	"strings"

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
on the built-in simulated XenServer host, which up starts (or finds) and keeps running in
$XDG_STATE_HOME/xenlab/sim (~/.local/state/xenlab/sim) for status, ssh, reset and the next
up; down removes the lab and stops it.`,
		Args: args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, true)
			if err != nil {
				return err
			}
			defer l.close()
			views := &steps.Views{} // verify leaves what it read for the closing view
			err = l.scrub(runSteps(c.Context(), io, l, steps.Fleet(l.cfg, l.hosts, steps.KeepViews(views)), false, func() error {
				return writeView(c.Context(), io, l, views)
			}))
			if err == nil {
				fmt.Fprintln(io.Err, nextSteps(c, l))
			}
			return err
		},
	}
	lab.register(c)
	lab.registerRun(c)
	lab.registerOnError(c)
	return c
}

// nextSteps is the line an up that brought the lab up ends with: what to
// do next, as commands to copy (with the lab file and host they need).
func nextSteps(c *cobra.Command, l *openedLab) string {
	var flags []string
	if c.Flags().Changed("file") {
		flags = append(flags, "-f "+shellWord(l.flags.file))
	}
	ssh := flags
	if len(l.hosts) > 1 {
		ssh = append(append([]string{}, flags...), "--host "+shellWord(l.hosts[0].Name()))
	}
	sudo := ""
	if l.cfg.DomU.SSHUser != "root" {
		sudo = "sudo "
	}
	join := func(cmd string, f []string) string { return strings.Join(append([]string{"xenlab " + cmd}, f...), " ") }
	down := "remove the lab"
	if l.kept != nil {
		down = "remove the lab and stop the simulated host"
	}
	return fmt.Sprintf("next: `%s -- %sovs-ofctl dump-flows br-int` (the walk-through by hand; `%s` for a shell), `%s` (back to this clean state), `%s` (%s)",
		join("ssh domu", ssh), sudo, join("ssh dom0", ssh), join("reset", flags), join("down", flags), down)
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
