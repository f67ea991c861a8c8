package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"xenlab/collect"
	"xenlab/hosts"
	"xenlab/hosts/lock"
	"xenlab/provision"
	"xenlab/provision/render"
)

// defaultCloseTimeout bounds logging out of xapi and closing SSH at exit.
const defaultCloseTimeout = 10 * time.Second

// runSteps runs a lab's step graph through the engine, Apply or (destroy)
// Destroy, shown the way the flags say, and returns the command's error.
// after, if not nil, is the command's own verdict on a run whose steps all
// succeeded (`up` shows the lab's view, and fails if it cannot).
//
// The run's report and the exit code come from one value: the command's
// error is put in the report (provision.Report.Err) before any report is
// written, so the JSON summary, the JUnit file, the timing table and the
// process's exit status always agree. The JUnit file is written first: if
// it cannot be, that failure is part of what the others report.
func runSteps(ctx context.Context, io IO, lab *openedLab, graph []provision.Node, destroy bool, after func() error) error {
	if lab.locks != nil { // a lost host lock ends the run
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		lab.locks.lost(cancel)
	}
	// Every view of the run (terminal, JSON, JUnit, the step logs a failed
	// run collects) has the lab's secrets scrubbed from what the steps say.
	secrets := collect.Secrets(lab.cfg)
	display := scrubRenderer{lab.flags.display(io), secrets}
	steps := collect.NewStepLog() // each step's whole output, for the logs of a failed run
	eng, err := provision.New(graph, provision.Options{
		Parallel: lab.flags.parallel, MaxHosts: lab.flags.maxHosts, StepTimeout: lab.flags.timeout(lab.cfg),
		OnError: provision.OnError(lab.flags.onError), Renderer: scrubRenderer{provision.Multi(display.r, steps), secrets}, Clock: io.Clock,
	})
	if err != nil {
		return err
	}
	var rep *provision.Report
	if destroy {
		rep, err = eng.Destroy(ctx)
	} else {
		rep, err = eng.Apply(ctx)
	}
	if cause := context.Cause(ctx); errors.Is(cause, lock.ErrLost) && rep.Err != nil {
		// Not an interruption by the user: the run failed (exit 1).
		rep.Err = fmt.Errorf("%w; the run stopped (%s)", cause, rep.Summary())
	}
	if err == nil && after != nil {
		rep.Err = after()
	}
	if lab.flags.junit != "" {
		if jerr := render.NewJUnit(lab.flags.junit).Close(scrubReport(rep, secrets)); jerr != nil {
			rep.Err = errors.Join(rep.Err, jerr)
		}
	}
	if p, ok := display.r.(interface{ EndProgress() }); ok {
		p.EndProgress() // the counters go under the bar, not on its line
	}
	writeCounters(io, lab.flags.json, lab.hosts) // before the JSON summary, which is the last line
	cerr := display.Close(rep)
	collectOnFailure(ctx, io, lab, rep, steps) // after the report: it never changes the outcome
	if cerr != nil {
		return errors.Join(runError(rep), fmt.Errorf("writing the run's report: %w", cerr))
	}
	return runError(rep)
}

// runError is the error a command returns for its run: nil, or the
// report's error; an interrupted run is told by its summary ("apply
// interrupted: SIGTERM: 1 done, 1 canceled (domU), 7 not run") rather
// than by the context's "context canceled".
func runError(rep *provision.Report) error {
	if rep.Err == nil {
		return nil
	}
	if rep.Outcome() == "interrupted" {
		return summaryError{rep}
	}
	return rep.Err
}

// summaryError shows a report's one-line summary and wraps its error.
type summaryError struct{ rep *provision.Report }

func (e summaryError) Error() string { return e.rep.Summary() }
func (e summaryError) Unwrap() error { return e.rep.Err }

// countersLine is the JSON line of a run's costs per host.
type countersLine struct {
	Kind     string                    `json:"kind"` // always "counters"
	Counters map[string]hosts.Counters `json:"counters"`
}

// writeCounters reports what the run cost each host in round trips and
// handshakes (counts are stable where seconds are not): one JSON line of
// kind "counters" with --json, else one line per host.
func writeCounters(io IO, asJSON bool, hs []*hosts.Host) {
	counts := map[string]hosts.Counters{}
	for _, h := range hs {
		counts[h.Name()] = h.Counters()
	}
	if asJSON {
		json.NewEncoder(io.Out).Encode(countersLine{Kind: "counters", Counters: counts})
		return
	}
	for _, h := range hs {
		c := counts[h.Name()]
		fmt.Fprintf(io.Out, "host %s: %s, %s\n", h.Name(), count(c.XAPIRoundTrips, "xapi round trip"), count(c.SSHHandshakes, "ssh handshake"))
	}
}

func closeHosts(hs []*hosts.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultCloseTimeout)
	defer cancel()
	for _, h := range hs {
		h.Close(ctx)
	}
}

// count says n of a noun, the noun plural unless n is 1.
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
