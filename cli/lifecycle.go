package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"xenlab/hosts/sim"
)

// The lab lifecycle commands: up, plan, status, reset, down, logs. Each
// parses its flags and reads the lab file; the host work behind them is
// built by the steps package.

func runUp(ctx context.Context, io IO, args []string) error {
	return runLabCommand(ctx, io, args, "up", "up [-f lab.hcl] [--json] [--junit FILE] [--log-dir DIR] [--on-error retain|cleanup]", true)
}

func runPlan(ctx context.Context, io IO, args []string) error {
	return runLabCommand(ctx, io, args, "plan", "plan [-f lab.hcl] [--json]", false)
}

func runStatus(ctx context.Context, io IO, args []string) error {
	return runLabCommand(ctx, io, args, "status", "status [-f lab.hcl] [--json]", false)
}

func runReset(ctx context.Context, io IO, args []string) error {
	return runLabCommand(ctx, io, args, "reset", "reset [-f lab.hcl] [--json] [--junit FILE]", true)
}

func runLogs(ctx context.Context, io IO, args []string) error {
	var lab labFlags
	fs := newFlags(io, "logs", "logs [-f lab.hcl] DIR")
	lab.register(fs, false)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("logs takes one directory to write the logs into")
	}
	if _, err := loadLab(lab.file); err != nil {
		return err
	}
	return notBuiltError{"collecting logs from dom0 and domU"}
}

func runDown(ctx context.Context, io IO, args []string) error {
	var lab labFlags
	fs := newFlags(io, "down", "down [-f lab.hcl] [--yes]")
	lab.register(fs, true)
	yes := fs.Bool("yes", false, "do not ask for confirmation (required when not on a terminal)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("down takes no arguments (got %q)", pos)
	}
	if err := lab.check(); err != nil {
		return err
	}
	cfg, err := loadLab(lab.file)
	if err != nil {
		return err
	}
	ok, err := confirm(io, *yes, fmt.Sprintf("Remove everything lab %q created on its host(s)?", cfg.Lab))
	if err != nil || !ok {
		return err
	}
	return notBuiltError{"tearing down a lab"}
}

func runLabCommand(ctx context.Context, io IO, args []string, name, usage string, apply bool) error {
	var lab labFlags
	fs := newFlags(io, name, usage)
	lab.register(fs, apply)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s takes no arguments (got %q); name the lab file with -f", name, pos)
	}
	if err := lab.check(); err != nil {
		return err
	}
	if name == "up" && !flagSet(fs, "f") && !fileExists(lab.file) {
		// No lab file at all: the lab is the built-in simulated host.
		h, err := sim.Start(ctx, sim.Options{Logf: func(string, ...any) {}})
		if err != nil {
			return fmt.Errorf("starting the built-in simulated host: %w", err)
		}
		defer h.Close()
		ep := h.Endpoints()
		fmt.Fprintf(io.Err, "no %s here: using the built-in simulated XenServer host (xapi %s, Open vSwitch %s)\n",
			lab.file, ep.XAPIURL, ep.OVS)
		lab.file = ep.LabFile
	}
	if _, err := loadLab(lab.file); err != nil {
		return err
	}
	return notBuiltError{"`xenlab " + name + "` (the bring-up steps)"}
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// confirm asks a yes/no question on a terminal. Off a terminal (CI, a pipe)
// it never guesses: --yes is required.
func confirm(io IO, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	if !io.Terminal {
		return false, usagef("not on a terminal: pass --yes to confirm")
	}
	fmt.Fprintf(io.Err, "%s [y/N] ", question)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		return false, usagef("no answer: nothing was done")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	fmt.Fprintln(io.Err, "Nothing was done.")
	return false, nil
}
