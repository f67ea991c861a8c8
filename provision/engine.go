package provision

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Engine runs one lab's step graph. Build it with New; its methods may be
// called one after another (Plan, then Apply, ...) but not concurrently.
type Engine struct {
	g    *graph
	opts Options
	em   *emitter
}

// New validates the step graph and the options. It rejects nil steps, empty
// and duplicate names, dependencies on unknown steps and dependency cycles,
// naming the steps involved; bad options are a [*UsageError].
func New(steps []Step, opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := newGraph(steps)
	if err != nil {
		return nil, err
	}
	return &Engine{g: g, opts: opts, em: &emitter{r: opts.Renderer, now: opts.Now}}, nil
}

// Steps returns the step names in dependency order (the order Apply reports
// them in).
func (e *Engine) Steps() []string {
	names := make([]string, len(e.g.order))
	for p, i := range e.g.order {
		names[p] = e.g.names[i]
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
	results := make([]StepResult, len(e.g.steps))
	rep := &Report{Phase: phase, Start: e.now()}
	names := e.Steps()
	if reverse {
		slices.Reverse(names)
	}
	e.em.begin(phase, names)
	e.g.walk(ctx, reverse, e.opts.Parallel, walkFuncs{
		run: func(ctx context.Context, i int) outcome {
			return step(ctx, i, &results[i])
		},
		skip: func(i, failed int) {
			e.skipped(phase, i, &results[i], fmt.Sprintf(skipReason, e.g.names[failed]))
		},
		notStarted: func(i int) {
			e.skipped(phase, i, &results[i], fmt.Sprintf("not started: %s interrupted", phase))
		},
	})
	rep.Steps = e.inOrder(results, reverse)
	rep.Duration = e.since(rep.Start)
	rep.Err = runError(ctx, phase, rep.Steps)
	return rep
}

func (e *Engine) now() time.Time { return e.opts.Now() }

func (e *Engine) since(t time.Time) time.Duration { return e.now().Sub(t) }

func (e *Engine) timeoutFor(s Step) time.Duration {
	if t, ok := s.(Timeouter); ok {
		return t.Timeout()
	}
	return e.opts.StepTimeout
}

func (e *Engine) attemptsFor(s Step) int {
	if a, ok := s.(Attempter); ok && a.MaxAttempts() > 0 {
		return a.MaxAttempts()
	}
	return e.opts.MaxAttempts
}

// interrupted is the error of a run whose context ended: it wraps ctx.Err()
// (so errors.Is(err, context.Canceled) holds after Ctrl-C) and the
// context's cause, which its message names (see [InterruptedError]).
func interrupted(ctx context.Context, phase Phase) error {
	return Interrupted(ctx, string(phase))
}
