package provision

import (
	"context"
	"sync"
)

// Apply brings the host to the state the steps describe. Each step, once its
// dependencies are done, is checked; if its work is not done it runs, with
// retries for Transient errors, independent steps in parallel up to
// Options.Parallel. On a converged host Apply runs nothing.
//
// When a step fails its dependents are skipped and independent steps carry
// on. When ctx ends no new step starts, running ones see their context
// canceled, and the error wraps ctx.Err(). Either way the OnError policy then
// runs (see [OnError]) and the report lists every step's outcome. The error
// is nil, or wraps each failed step's [*StepError], the interruption, and any
// cleanup failure.
func (e *Engine) Apply(ctx context.Context) (*Report, error) {
	run := e.applyPhase(ctx)
	if run.report.Err != nil {
		e.policy().afterFailure(ctx, e, run)
	}
	return run.report, run.report.Err
}

// applyRun is an Apply's report plus what the failure policy needs: the
// steps whose Apply was called, in the order they finished.
type applyRun struct {
	report *Report
	ran    []int
}

func (e *Engine) applyPhase(ctx context.Context) *applyRun {
	run := &applyRun{}
	var mu sync.Mutex
	ranStep := func(i int) {
		mu.Lock()
		run.ran = append(run.ran, i)
		mu.Unlock()
	}
	run.report = e.runPhase(ctx, PhaseApply, "dependency %s failed", func(ctx context.Context, i int, res *StepResult) outcome {
		return e.applyStep(ctx, i, res, ranStep)
	})
	return run
}

// applyStep checks step i and, if its work is not done, applies it.
// ran is called once Apply was called for the step, whatever its result.
func (e *Engine) applyStep(ctx context.Context, i int, res *StepResult, ran func(int)) outcome {
	s := e.g.nodes[i].Step
	res.Name, res.Host = e.g.names[i], e.hostName(i)
	out := e.newStepOutput(PhaseApply, i, res)

	checked := e.now()
	var done bool
	err := e.retry(ctx, i, out, nil, func(ctx context.Context, _ int) error {
		var err error
		done, err = s.Check(ctx)
		return err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return e.canceled(ctx, res, checked, out, err)
	case err != nil:
		return e.failed("check", res, checked, out, err)
	case done:
		res.State = StateAlreadyDone
		res.Duration = e.since(checked)
		ev := out.event(EventUpToDate)
		ev.Duration = res.Duration
		e.em.emit(ev)
		return outcomeOK
	}

	res.Start = e.now()
	ev := out.event(EventStarted)
	ev.Attempt = 1
	e.em.emit(ev)
	err = e.retry(ctx, i, out, &res.Attempts, func(ctx context.Context, attempt int) error {
		return e.runAttempt(ctx, out, attempt, res.Start, s.Apply)
	})
	ran(i)
	return e.finish(ctx, "apply", res, out, err)
}

// finish records the end of a step's Apply or Destroy that started at
// res.Start and emits its final event.
func (e *Engine) finish(ctx context.Context, op string, res *StepResult, out *stepOutput, err error) outcome {
	switch {
	case err == nil:
		res.State = StateDone
		res.Duration = e.since(res.Start)
		res.Output = out.tail()
		ev := out.event(EventDone)
		ev.Duration, ev.Attempt = res.Duration, res.Attempts
		e.em.emit(ev)
		return outcomeOK
	case ctx.Err() != nil:
		return e.canceled(ctx, res, res.Start, out, err)
	default:
		return e.failed(op, res, res.Start, out, err)
	}
}
