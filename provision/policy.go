package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// failurePolicy decides what happens to the host after an Apply that failed
// or was interrupted. It runs as its own phase after the run, so steps know
// nothing about it.
type failurePolicy interface {
	afterFailure(ctx context.Context, e *Engine, run *applyRun)
}

func (e *Engine) policy() failurePolicy {
	if e.opts.OnError == Cleanup {
		return cleanupHost{}
	}
	return retainHost{}
}

// retainHost leaves everything in place for debugging.
type retainHost struct{}

func (retainHost) afterFailure(context.Context, *Engine, *applyRun) {}

// cleanupHost destroys the steps this run called Apply for, newest (last
// finished) first, one at a time: steps that were already done before the
// run, skipped steps and steps never started are left alone. The step that
// failed (or was interrupted) is included, because it may have created part
// of its work before failing, and Destroy is idempotent.
//
// Cleanup also runs after an interruption, so it runs detached from ctx's
// cancellation; each Destroy is still bounded by the step's time limit.
// A Destroy that fails does not stop the others; its error joins the run's.
//
// In a fleet only the hosts that failed (or were interrupted) are cleaned
// up: a host whose every step succeeded is left up.
type cleanupHost struct{}

func (cleanupHost) afterFailure(ctx context.Context, e *Engine, run *applyRun) {
	ctx = context.WithoutCancel(ctx)
	rep := run.report
	var order []int
	for _, i := range slices.Backward(run.ran) {
		if len(rep.Hosts) == 0 || rep.Hosts[e.g.host[i]].Err != nil {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return
	}
	names := make([]string, len(order))
	for k, i := range order {
		names[k] = e.g.names[i]
	}
	e.em.begin(PhaseCleanup, names)
	var errs []error
	for _, i := range order {
		var res StepResult
		if e.destroyStep(ctx, PhaseCleanup, i, &res) != outcomeOK {
			errs = append(errs, res.Err)
			if len(rep.Hosts) > 0 {
				hr := &rep.Hosts[e.g.host[i]]
				hr.Err = errors.Join(hr.Err, fmt.Errorf("cleanup after failure: %w", res.Err))
			}
		}
		run.report.Cleanup = append(run.report.Cleanup, res)
	}
	if len(errs) > 0 {
		run.report.Err = errors.Join(run.report.Err, fmt.Errorf("cleanup after failure: %w", errors.Join(errs...)))
	}
	run.report.Duration = e.since(run.report.Start)
}
