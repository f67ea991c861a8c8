// Package cli is xenlab's command line, built on github.com/spf13/cobra:
// one small file per command, each a cobra.Command and a run function,
// tested with fake IO. Errors become exit codes in one place (Main and
// exitCode), from the same value the run's reports are made of.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"xenlab/internal/editdistance"
	"xenlab/localrc"
	"xenlab/provision"
)

// Exit codes, documented in README.md ("Exit codes") and in `xenlab --help`.
// All but ExitStdoutClosed are the engine's: provision.ExitCode maps every
// error to one, and a run's JSON and JUnit reports carry the same code.
const (
	ExitOK           = provision.ExitOK          // the command did what was asked
	ExitFailed       = provision.ExitFailure     // a step or a remote operation failed
	ExitUsage        = provision.ExitUsage       // bad flags, arguments or lab file
	ExitPending      = 2                         // plan --detailed-exitcode: changes pending
	ExitInterrupted  = provision.ExitInterrupted // Ctrl-C (SIGINT)
	ExitStdoutClosed = 141                       // stdout closed under a run (`xenlab up | head`), as SIGPIPE
	ExitTerminated   = 143                       // SIGTERM
)

const exitCodesHelp = `Exit codes:
  0    ok
  1    a step or a remote operation failed
  2    usage or lab file error (plan --detailed-exitcode: changes pending; errors are 1)
  130  interrupted by Ctrl-C (SIGINT)
  141  stdout was closed before the end (xenlab up | head): the run stopped quietly
  143  terminated (SIGTERM)`

// Main runs xenlab with the given arguments (without the program name) and
// returns the process exit code. ctx's cancellation is an interruption;
// its cause (see provision.Signaled) chooses the exit code.
func Main(ctx context.Context, args []string, io IO) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := &stdout{w: io.Out, cancel: cancel}
	io.Out = out
	root := newRoot(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if out.closed() {
		return ExitStdoutClosed // the reader went away: nothing more to say, and nowhere to say it
	}
	return report(io, cmd, err)
}

// newRoot builds the command tree.
func newRoot(io IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "xenlab",
		Short: "a devstack-style OpenStack networking lab on a XenServer host",
		Long: `xenlab brings up a devstack-style OpenStack networking lab (Quantum/Neutron with
Open vSwitch) on a XenServer or XCP-ng host, or on its built-in simulated host.

` + exitCodesHelp,
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
		// A bare `xenlab` is a mistake (exit 2) that shows the commands;
		// a word that is no command is one with suggestions.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			c.SetOut(io.Err)
			c.Usage()
			return exitError{code: ExitUsage}
		},
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			switch {
			case err != nil:
				return usageError{err.Error()}
			case len(rest) > 0:
				return unknownCommand(cmd, rest[0])
			}
			return cmd.Help()
		},
	})
	root.AddCommand(
		newUp(io), newPlan(io), newStatus(io), newVerify(io), newReset(io), newDown(io), newLogs(io),
		newSSH(io), newValidate(io), newLocalrc(io), newSim(io), newVersion(io),
	)
	return root
}

// report prints err (if any) and maps it to an exit code. A lab file's
// diagnostics carry file:line:col themselves: on a terminal they are drawn
// with source snippets, elsewhere one line each. A usage error is one line
// and a pointer to the command's --help.
func report(io IO, cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	prefix := "xenlab"
	if cmd != nil {
		prefix = cmd.CommandPath()
	}
	code := exitCode(cmd, err)
	var de *localrc.DiagError
	var ue usageError
	switch {
	case errors.As(err, &de):
		if !io.Color || de.Write(io.Err, io.Color, io.Width) != nil {
			fmt.Fprintln(io.Err, de.Error())
		}
	case errors.As(err, &ue):
		fmt.Fprintf(io.Err, "%s: %v\nRun '%s --help' for usage.\n", prefix, err, prefix)
	default:
		fmt.Fprintf(io.Err, "%s: %v\n", prefix, err)
	}
	return code
}

// exitCode is provision.ExitCode, except that under plan
// --detailed-exitcode every error is 1, so 2 means only "changes pending".
func exitCode(cmd *cobra.Command, err error) int {
	code := provision.ExitCode(err)
	if de := (*localrc.DiagError)(nil); code == ExitFailed && errors.As(err, &de) {
		code = ExitUsage // the lab file is wrong
	}
	if code == ExitUsage && cmd != nil {
		if f := cmd.Flags().Lookup("detailed-exitcode"); f != nil && f.Value.String() == "true" {
			return ExitFailed
		}
	}
	return code
}

// exitError ends a command with an exit code and no message: what there
// was to say is said (plan --detailed-exitcode's 2, bare `xenlab`).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// ConfigError marks it for provision.ExitCode.
func (usageError) ConfigError() {}

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// flagError turns pflag's errors into usage errors, suggesting the flag
// meant when an unknown one is close to a real one.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if s := suggest(name, names); len(s) > 0 {
			msg += " (did you mean --" + strings.Join(s, " or --") + "?)"
		}
	}
	return usageError{msg}
}

// unknownCommand is the usage error for a word that is not a subcommand
// of c, with cobra's suggestions.
func unknownCommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return usageError{msg}
}

// suggest returns the names within edit distance 2 of typed, or that it
// is a prefix of.
func suggest(typed string, names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, typed) || editdistance.Levenshtein(typed, n) <= 2 {
			out = append(out, n)
		}
	}
	return out
}

// args checks a command's positional arguments: exactly n, else a usage
// error that shows the command's usage line.
func args(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if n == 0 {
			hint := ""
			if c.Flags().Lookup("file") != nil {
				hint = "; name the lab file with -f"
			}
			return usagef("%s takes no arguments (got %q)%s", c.Name(), args, hint)
		}
		return usagef("usage: %s", c.UseLine())
	}
}

// oneOf validates a flag's value against its allowed values.
func oneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return usagef("--%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), value)
}
