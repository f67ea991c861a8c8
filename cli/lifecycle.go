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

// labCommand describes one lifecycle command: its flags beyond the shared
// ones and how many arguments it takes. open parses, checks and loads the
// lab file the same way for all of them.
type labCommand struct {
	name, usage string
	apply       bool                // registers the flags of a run (--junit, --on-error, ...)
	args        int                 // positional arguments it takes
	flags       func(*flag.FlagSet) // its own flags, if any
}

// openedLab is a command's parsed flags, its lab file and arguments, and
// what must be stopped at the end (the built-in simulated host).
type openedLab struct {
	flags *labFlags
	cfg   *localrc.Config
	args  []string
	close func()
}

// open parses the command's flags and loads its lab file. For `up` and
// `plan` without a lab file (and without -f) the lab is the built-in
// simulated host, started here and stopped by close.
func (lc labCommand) open(ctx context.Context, io IO, args []string) (*openedLab, error) {
	lab := &labFlags{}
	fs := newFlags(io, lc.name, lc.usage)
	lab.register(fs, lc.apply)
	if lc.flags != nil {
		lc.flags(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != lc.args {
		if lc.args == 0 {
			return nil, usagef("%s takes no arguments (got %q); name the lab file with -f", lc.name, pos)
		}
		return nil, usagef("usage: xenlab %s", lc.usage)
	}
	if err := lab.check(); err != nil {
		return nil, err
	}
	o := &openedLab{flags: lab, args: pos, close: func() {}}
	if (lc.name == "up" || lc.name == "plan") && !flagSet(fs, "f") && !fileExists(lab.file) {
		h, err := sim.Start(ctx, sim.Options{Logf: func(string, ...any) {}})
		if err != nil {
			return nil, fmt.Errorf("starting the built-in simulated host: %w", err)
		}
		ep := h.Endpoints()
		fmt.Fprintf(io.Err, "no %s here: using the built-in simulated XenServer host (xapi %s, Open vSwitch %s)\n",
			lab.file, ep.XAPIURL, ep.OVS)
		lab.file = ep.LabFile
		o.close = func() { h.Close() }
	}
	if o.cfg, err = loadLab(lab.file); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

func runUp(ctx context.Context, io IO, args []string) error {
	lab, err := labCommand{name: "up", apply: true,
		usage: "up [-f lab.hcl] [--json] [--junit FILE] [--log-dir DIR] [--on-error retain|cleanup] [--parallel N]"}.open(ctx, io, args)
	if err != nil {
		return err
	}
	defer lab.close()
	hs := dialHosts(lab.cfg, lab.flags)
	defer closeHosts(hs)
	renderer := lab.flags.renderer(io)
	eng, err := provision.New(steps.Fleet(lab.cfg, hs), provision.Options{
		Parallel: lab.flags.parallel, StepTimeout: lab.flags.stepTimeout,
		OnError: provision.OnError(lab.flags.onError), Renderer: renderer,
	})
	if err != nil {
		return err
	}
	rep, err := eng.Apply(ctx)
	if cerr := renderer.Close(rep); cerr != nil && err == nil {
		err = fmt.Errorf("writing the run's report: %w", cerr)
	}
	writeCounters(io, lab.flags.json, hs)
	if err != nil {
		return err
	}
	return notBuiltError{"the bring-up after preflight (" + strings.Join(steps.Missing, ", ") + ")"}
}

func runPlan(ctx context.Context, io IO, args []string) error {
	lab, err := labCommand{name: "plan", usage: "plan [-f lab.hcl]"}.open(ctx, io, args)
	if err != nil {
		return err
	}
	defer lab.close()
	hs := dialHosts(lab.cfg, lab.flags)
	defer closeHosts(hs)
	eng, err := provision.New(steps.Fleet(lab.cfg, hs), provision.Options{})
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
	return notBuilt(ctx, io, args, labCommand{name: "status", usage: "status [-f lab.hcl] [--json]"}, "`xenlab status`")
}

func runReset(ctx context.Context, io IO, args []string) error {
	return notBuilt(ctx, io, args, labCommand{name: "reset", apply: true, usage: "reset [-f lab.hcl] [--json] [--junit FILE]"}, "`xenlab reset`")
}

func runLogs(ctx context.Context, io IO, args []string) error {
	return notBuilt(ctx, io, args, labCommand{name: "logs", usage: "logs [-f lab.hcl] DIR", args: 1},
		"collecting logs from dom0 and domU")
}

func runDown(ctx context.Context, io IO, args []string) error {
	var yes bool
	lab, err := labCommand{name: "down", apply: true, usage: "down [-f lab.hcl] [--yes]",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation (required when not on a terminal)")
		}}.open(ctx, io, args)
	if err != nil {
		return err
	}
	defer lab.close()
	ok, err := confirm(ctx, io, yes, fmt.Sprintf("Remove everything lab %q created on its host(s)?", lab.cfg.Lab))
	if err != nil || !ok {
		return err
	}
	return notBuiltError{"tearing down a lab"}
}

// notBuilt checks a command's flags and lab file, then says its host work
// is not built.
func notBuilt(ctx context.Context, io IO, args []string, lc labCommand, what string) error {
	lab, err := lc.open(ctx, io, args)
	if err != nil {
		return err
	}
	lab.close()
	return notBuiltError{what}
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
