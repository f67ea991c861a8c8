// Package cli is xenlab's command line: one small file per command, each an
// options struct and a run function, tested with fake IO. Errors become exit
// codes in one place (exitCode).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"xenlab/localrc"
	"xenlab/provision"
)

// Exit codes, documented in README.md ("Exit codes") and in `xenlab --help`.
// They are the engine's: provision.ExitCode maps every error to one.
const (
	ExitOK          = provision.ExitOK          // the command did what was asked
	ExitFailed      = provision.ExitFailure     // a step or a remote operation failed
	ExitUsage       = provision.ExitUsage       // bad flags, arguments or lab file
	ExitInterrupted = provision.ExitInterrupted // cancelled by Ctrl-C, SIGTERM or SIGPIPE
)

// command is one subcommand: its name as typed, a one-line summary, and the
// function that parses its own flags and runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io IO, args []string) error
}

func commands() []command {
	return []command{
		{"up", "bring up (or converge) the lab described by the lab file", runUp},
		{"plan", "show what `up` would do, step by step, touching nothing", runPlan},
		{"status", "show networks, bridges, domU, agents and VLAN mappings", runStatus},
		{"reset", "revert the lab to its clean post-install snapshot", runReset},
		{"down", "remove everything this lab created on the host, and nothing else", runDown},
		{"validate", "check the lab file; errors as file:line:col diagnostics", runValidate},
		{"localrc", "`localrc import FILE`: convert a devstack localrc into a lab file", runLocalrc},
		{"logs", "collect dom0 and domU logs into a directory", runLogs},
		{"sim", "`sim serve`: run a simulated XenServer host", runSim},
	}
}

// Main runs xenlab with the given arguments (without the program name) and
// returns the process exit code.
func Main(ctx context.Context, args []string, io IO) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(io.Out)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, io, args[1:])
			return report(io, "xenlab "+c.name, err)
		}
	}
	fmt.Fprintf(io.Err, "xenlab: unknown command %q\n\n", args[0])
	printUsage(io.Err)
	return ExitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "xenlab: a devstack-style OpenStack networking lab on a XenServer host")
	fmt.Fprintln(w, "\nUsage: xenlab <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `xenlab <command> --help` for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 a step failed, 2 usage or config error, 130 interrupted.")
}

// report prints err (if any) and maps it to an exit code. A lab file's
// diagnostics carry file:line:col themselves: on a terminal they are drawn
// with source snippets, elsewhere one line each.
func report(io IO, prefix string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var de *localrc.DiagError
	if errors.As(err, &de) {
		if !io.Color || de.Write(io.Err, io.Color, io.Width) != nil {
			fmt.Fprintln(io.Err, de.Error())
		}
		return ExitUsage
	}
	fmt.Fprintf(io.Err, "%s: %v\n", prefix, err)
	return provision.ExitCode(err)
}

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// ConfigError marks it for provision.ExitCode.
func (usageError) ConfigError() {}

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// notBuiltError says a command exists in the design but its work is not
// built yet. It never pretends: the command exits non-zero.
type notBuiltError struct{ what string }

func (e notBuiltError) Error() string {
	return e.what + " is not built yet; nothing was changed"
}

// newFlags returns a flag set that reports its errors as usage errors and
// prints its help on the command's output.
func newFlags(io IO, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Err)
	fs.Usage = func() {
		fmt.Fprintf(io.Err, "Usage: xenlab %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors. Flags may
// follow positional arguments (`xenlab logs DIR -f lab.hcl`).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// oneOf validates a flag's value against its allowed values.
func oneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	sort.Strings(allowed)
	return usagef("--%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), value)
}
