package provision

import (
	"context"
	"errors"
	"slices"
	"time"
)

// failed records that a step's op ("check", "apply" or "destroy"), begun at
// start, failed with err.
func (e *Engine) failed(op string, res *StepResult, start time.Time, out *stepOutput, err error) outcome {
	res.State = StateFailed
	res.Err = &StepError{Step: res.Name, Host: out.on, Op: op, Err: err}
	res.Output = out.tail()
	res.Duration = e.since(start)
	ev := out.event(EventFailed)
	ev.Duration, ev.Attempt, ev.Err = res.Duration, res.Attempts, err.Error()
	e.em.emit(ev)
	return outcomeFailed
}

// canceled records that a step begun at start was interrupted because ctx
// ended; err is what the step returned.
func (e *Engine) canceled(ctx context.Context, res *StepResult, start time.Time, out *stepOutput, err error) outcome {
	res.State = StateCanceled
	if !errors.Is(err, ctx.Err()) {
		err = errors.Join(err, ctx.Err())
	}
	res.Err = err
	res.Output = out.tail()
	res.Duration = e.since(start)
	ev := out.event(EventCanceled)
	ev.Duration, ev.Attempt, ev.Err = res.Duration, res.Attempts, err.Error()
	e.em.emit(ev)
	return outcomeCanceled
}

// skipped records that step i did not run, and why.
func (e *Engine) skipped(phase Phase, i int, res *StepResult, reason string) {
	res.Name, res.Host = e.g.names[i], e.hostName(i)
	res.State = StateSkipped
	res.Reason = reason
	e.em.emit(Event{Phase: phase, Step: res.Name, Host: res.Host, Kind: EventSkipped, Line: reason})
}

// inOrder lists per-node results in the phase's order (see phaseOrder).
func (e *Engine) inOrder(results []StepResult, reverse bool) []StepResult {
	out := make([]StepResult, 0, len(results))
	for _, i := range e.phaseOrder(reverse) {
		out = append(out, results[i])
	}
	return out
}

// phaseOrder is the nodes in dependency order, or reversed. A fleet's
// reversed order keeps its hosts in graph order, each host's steps
// reversed.
func (e *Engine) phaseOrder(reverse bool) []int {
	if !reverse {
		return e.g.order
	}
	out := make([]int, 0, len(e.g.order))
	for h := range e.g.hosts {
		for _, i := range slices.Backward(e.g.order) {
			if e.g.host[i] == h {
				out = append(out, i)
			}
		}
	}
	return out
}

// runError is a phase's error: the interruption if ctx ended, then every
// failed step's *StepError, in report order.
func runError(ctx context.Context, phase Phase, steps []StepResult) error {
	var errs []error
	if ctx.Err() != nil {
		errs = append(errs, interrupted(ctx, phase))
	}
	for _, s := range steps {
		if s.State == StateFailed {
			errs = append(errs, s.Err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
