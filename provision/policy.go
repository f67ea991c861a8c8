package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
// up: a host whose every step succeeded is left up. The hosts are cleaned
// up at once, each one step at a time; Report.Cleanup lists them host by
// host in the lab's order.
type cleanupHost struct{}

func (cleanupHost) afterFailure(ctx context.Context, e *Engine, run *applyRun) {
	ctx = context.WithoutCancel(ctx)
	rep := run.report
	// Each host's steps to undo, newest first (one list for one host).
	perHost := make([][]int, len(e.g.hosts))
	var nodes []int
	for _, i := range slices.Backward(run.ran) {
		h := e.g.host[i]
		if len(rep.Hosts) == 0 || rep.Hosts[h].Err != nil {
			perHost[h] = append(perHost[h], i)
			nodes = append(nodes, i)
		}
	}
	if len(nodes) == 0 {
		return
	}
	e.begin(PhaseCleanup, nodes)
	results := make([][]StepResult, len(perHost))
	errs := make([][]error, len(perHost))
	var wg sync.WaitGroup
	for h, order := range perHost {
		wg.Go(func() {
			for _, i := range order {
				var res StepResult
				if e.destroyStep(ctx, PhaseCleanup, i, &res) != outcomeOK {
					errs[h] = append(errs[h], res.Err)
				}
				results[h] = append(results[h], res)
			}
		})
	}
	wg.Wait()
	var all []error
	for h := range perHost {
		rep.Cleanup = append(rep.Cleanup, results[h]...)
		all = append(all, errs[h]...)
		if len(rep.Hosts) > 0 && len(errs[h]) > 0 {
			hr := &rep.Hosts[h]
			hr.Err = errors.Join(hr.Err, fmt.Errorf("cleanup after failure: %w", errors.Join(errs[h]...)))
		}
	}
	if len(all) > 0 {
		rep.Err = errors.Join(rep.Err, fmt.Errorf("cleanup after failure: %w", errors.Join(all...)))
	}
	rep.Duration = e.since(rep.Start)
}
