package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Engine runs one lab's step graph. Build it with New; its methods may be
// called one after another (Plan, then Apply, ...) but not concurrently.
type Engine struct {
	g    *graph
	opts Options
	em   *emitter
}

// New validates the graph and the options. It rejects nil steps, empty
// and duplicate names (within a host), dependencies on unknown steps and
// dependency cycles, naming the steps involved; bad options are a
// [*UsageError].
func New(nodes []Node, opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := newGraph(nodes)
	if err != nil {
		return nil, err
	}
	return &Engine{g: g, opts: opts, em: &emitter{r: opts.Renderer, now: opts.Clock.Now}}, nil
}

// Hosts returns a fleet's hosts in graph order (see [Node.Host]), or nil
// when the steps are one host's.
func (e *Engine) Hosts() []string {
	if !e.g.fleet() {
		return nil
	}
	return slices.Clone(e.g.hosts)
}

// hostName is node i's host in a fleet, "" otherwise: what its events
// and result carry.
func (e *Engine) hostName(i int) string {
	if !e.g.fleet() {
		return ""
	}
	return e.g.hosts[e.g.host[i]]
}

func (e *Engine) bounds() bounds {
	return bounds{perHost: e.opts.Parallel, hosts: e.opts.MaxHosts}
}

// Steps returns the steps in dependency order (the order Apply reports
// them in), each as people are shown it (see [Label]).
func (e *Engine) Steps() []string {
	names := make([]string, len(e.g.order))
	for p, i := range e.g.order {
		names[p] = e.g.label(i)
	}
	return names
}

// runPhase walks the graph for Apply (dependencies first) or Destroy
// (dependents first), calling step for each node that may run, and returns
// the phase's report: every step's result in phase order, the duration and
// the error. A node skipped because of a failure gets skipReason with the
// failed step's name for %s.
func (e *Engine) runPhase(ctx context.Context, phase Phase, skipReason string, step func(ctx context.Context, i int, res *StepResult) outcome) *Report {
	reverse := phase == PhaseDestroy
	results := make([]StepResult, len(e.g.nodes))
	rep := &Report{Phase: phase, Start: e.now()}
	e.begin(phase, e.phaseOrder(reverse))
	// Each host's time: from its first step's start to its last one's end.
	var mu sync.Mutex
	first := make([]time.Time, len(e.g.hosts))
	last := make([]time.Time, len(e.g.hosts))
	notStarted := make([]bool, len(e.g.nodes))
	e.g.walk(ctx, reverse, e.bounds(), walkFuncs{
		run: func(ctx context.Context, i int) outcome {
			h := e.g.host[i]
			mu.Lock()
			if first[h].IsZero() {
				first[h] = e.now()
			}
			mu.Unlock()
			out := step(ctx, i, &results[i])
			mu.Lock()
			last[h] = e.now()
			mu.Unlock()
			return out
		},
		skip: func(i, failed int) {
			e.skipped(phase, i, &results[i], fmt.Sprintf(skipReason, e.g.label(failed)))
		},
		notStarted: func(i int) {
			notStarted[i] = true
			e.skipped(phase, i, &results[i], fmt.Sprintf("not started: %s interrupted", phase))
		},
	})
	rep.Steps = e.inOrder(results, reverse)
	rep.Duration = e.since(rep.Start)
	rep.Err = runError(ctx, phase, rep.Steps)
	if e.g.fleet() {
		rep.Hosts = make([]HostResult, len(e.g.hosts))
		for h, name := range e.g.hosts {
			rep.Hosts[h] = HostResult{Name: name, Start: first[h]}
			if !first[h].IsZero() {
				rep.Hosts[h].Duration = last[h].Sub(first[h])
			}
		}
		// A host's error: the interruption if it did not finish, then its
		// failed steps' errors.
		cut := make([]bool, len(e.g.hosts))
		for i := range e.g.nodes {
			cut[e.g.host[i]] = cut[e.g.host[i]] || results[i].State == StateCanceled || notStarted[i]
		}
		for h := range rep.Hosts {
			if cut[h] {
				rep.Hosts[h].Err = interrupted(ctx, phase)
			}
		}
		for _, i := range e.g.order {
			if results[i].State == StateFailed {
				hr := &rep.Hosts[e.g.host[i]]
				hr.Err = joinErr(hr.Err, results[i].Err)
			}
		}
		rep.Err = fleetError(rep)
	}
	return rep
}

// joinErr is errors.Join that leaves a lone error as it is.
func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return errors.Join(a, b)
}

func (e *Engine) now() time.Time { return e.opts.Clock.Now() }

func (e *Engine) since(t time.Time) time.Duration { return e.now().Sub(t) }

// timeoutFor is node i's time limit per attempt (0: none).
func (e *Engine) timeoutFor(i int) time.Duration {
	switch t := e.g.nodes[i].Timeout; {
	case t > 0:
		return t
	case t < 0:
		return 0
	}
	return max(e.opts.StepTimeout, 0)
}

// attemptsFor is node i's number of attempts for transient errors.
func (e *Engine) attemptsFor(i int) int {
	if a := e.g.nodes[i].Attempts; a > 0 {
		return a
	}
	return e.opts.MaxAttempts
}

// interrupted is the error of a run whose context ended: it wraps ctx.Err()
// (so errors.Is(err, context.Canceled) holds after Ctrl-C) and the
// context's cause, which its message names (see [InterruptedError]).
func interrupted(ctx context.Context, phase Phase) error {
	return Interrupted(ctx, string(phase))
}
