package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/steps"
)

// The lab lifecycle commands: up, plan, status, reset, down, logs. Each
// parses its flags and reads the lab file; up and plan run the steps
// package's graph through the engine.

func runUp(ctx context.Context, io IO, args []string) error {
	lab, cfg, cleanup, err := openLab(ctx, io, args, "up",
		"up [-f lab.hcl] [--json] [--junit FILE] [--log-dir DIR] [--on-error retain|cleanup] [--parallel N]", true)
	if err != nil {
		return err
	}
	defer cleanup()
	hs := dialHosts(cfg, lab)
	defer closeHosts(hs)
	renderer := lab.renderer(io)
	eng, err := provision.New(steps.Fleet(cfg, hs), provision.Options{
		Parallel: lab.parallel, StepTimeout: lab.stepTimeout, OnError: provision.OnError(lab.onError),
		Renderer: renderer,
	})
	if err != nil {
		return err
	}
	rep, err := eng.Apply(ctx)
	if cerr := renderer.Close(rep); cerr != nil && err == nil {
		err = fmt.Errorf("writing the run's report: %w", cerr)
	}
	writeCounters(io, lab.json, hs)
	if err != nil {
		return err
	}
	return notBuiltError{"the bring-up after preflight (" + strings.Join(steps.Missing, ", ") + ")"}
}

func runPlan(ctx context.Context, io IO, args []string) error {
	lab, cfg, cleanup, err := openLab(ctx, io, args, "plan", "plan [-f lab.hcl]", false)
	if err != nil {
		return err
	}
	defer cleanup()
	hs := dialHosts(cfg, lab)
	defer closeHosts(hs)
	eng, err := provision.New(steps.Fleet(cfg, hs), provision.Options{})
	if err != nil {
		return err
	}
	plan, err := eng.Plan(ctx)
	if err != nil {
		return err
	}
	if err := plan.WriteText(io.Out); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "not built yet, so not planned: %s\n", strings.Join(steps.Missing, ", "))
	return nil
}

func runStatus(ctx context.Context, io IO, args []string) error {
	return notBuiltLabCommand(ctx, io, args, "status", "status [-f lab.hcl] [--json]")
}

func runReset(ctx context.Context, io IO, args []string) error {
	return notBuiltLabCommand(ctx, io, args, "reset", "reset [-f lab.hcl] [--json] [--junit FILE]")
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
	ok, err := confirm(ctx, io, *yes, fmt.Sprintf("Remove everything lab %q created on its host(s)?", cfg.Lab))
	if err != nil || !ok {
		return err
	}
	return notBuiltError{"tearing down a lab"}
}

func notBuiltLabCommand(ctx context.Context, io IO, args []string, name, usage string) error {
	_, _, cleanup, err := openLab(ctx, io, args, name, usage, name == "reset")
	if err != nil {
		return err
	}
	cleanup()
	return notBuiltError{"`xenlab " + name + "`"}
}

// openLab parses a lab command's flags and loads its lab file. For `up` and
// `plan` without a lab file (and without -f), the lab is the built-in
// simulated host, started here and stopped by cleanup.
func openLab(ctx context.Context, io IO, args []string, name, usage string, apply bool) (*labFlags, *localrc.Config, func(), error) {
	var lab labFlags
	fs := newFlags(io, name, usage)
	lab.register(fs, apply)
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(pos) > 0 {
		return nil, nil, nil, usagef("%s takes no arguments (got %q); name the lab file with -f", name, pos)
	}
	if err := lab.check(); err != nil {
		return nil, nil, nil, err
	}
	cleanup := func() {}
	if (name == "up" || name == "plan") && !flagSet(fs, "f") && !fileExists(lab.file) {
		h, err := sim.Start(ctx, sim.Options{Logf: func(string, ...any) {}})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("starting the built-in simulated host: %w", err)
		}
		ep := h.Endpoints()
		fmt.Fprintf(io.Err, "no %s here: using the built-in simulated XenServer host (xapi %s, Open vSwitch %s)\n",
			lab.file, ep.XAPIURL, ep.OVS)
		lab.file = ep.LabFile
		cleanup = func() { h.Close() }
	}
	cfg, err := loadLab(lab.file)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return &lab, cfg, cleanup, nil
}

func dialHosts(cfg *localrc.Config, lab *labFlags) []*hosts.Host {
	hs := make([]*hosts.Host, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		hs[i] = hosts.New(h, hosts.Options{AcceptNewHostKeys: lab.acceptNewHostKeys})
	}
	return hs
}

func closeHosts(hs []*hosts.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCloseTimeout)
	defer cancel()
	for _, h := range hs {
		h.Close(ctx)
	}
}

// writeCounters reports what the run cost each host in round trips and
// handshakes (counts are stable where seconds are not): one JSON object
// with --json, else one line per host.
func writeCounters(io IO, asJSON bool, hs []*hosts.Host) {
	counts := map[string]hosts.Counters{}
	for _, h := range hs {
		counts[h.Name()] = h.Counters()
	}
	if asJSON {
		json.NewEncoder(io.Out).Encode(map[string]any{"counters": counts})
		return
	}
	for _, h := range hs {
		c := counts[h.Name()]
		fmt.Fprintf(io.Out, "host %s: %d xapi round trips, %d ssh handshakes\n", h.Name(), c.XAPIRoundTrips, c.SSHHandshakes)
	}
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
// it never guesses: --yes is required. Ctrl-C while it waits for the
// answer cancels the command (exit 130), as anywhere else.
func confirm(ctx context.Context, io IO, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	if !io.Terminal {
		return false, usagef("not on a terminal: pass --yes to confirm")
	}
	fmt.Fprintf(io.Err, "%s [y/N] ", question)
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(io.In).ReadString('\n')
		answers <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		fmt.Fprintln(io.Err)
		return false, ctx.Err()
	}
	if a.err != nil && a.line == "" {
		return false, usagef("no answer: nothing was done")
	}
	switch strings.ToLower(strings.TrimSpace(a.line)) {
	case "y", "yes":
		return true, nil
	}
	fmt.Fprintln(io.Err, "Nothing was done.")
	return false, nil
}
