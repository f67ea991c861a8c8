package provision

import "context"

// Destroy undoes every step, dependents before their dependencies,
// independent ones in parallel up to Options.Parallel. Steps' Destroy is
// idempotent, so Destroy is safe on a host where some or none of the lab
// exists. If a step's Destroy fails, the steps it depends on are skipped
// (undoing them could break what is left). Cancellation works as in Apply.
func (e *Engine) Destroy(ctx context.Context) (*Report, error) {
	rep := e.runPhase(ctx, PhaseDestroy, "dependent %s failed to destroy", func(ctx context.Context, i int, res *StepResult) outcome {
		return e.destroyStep(ctx, PhaseDestroy, i, res)
	})
	return rep, rep.Err
}

// destroyStep runs step i's Destroy with retries, timeouts and heartbeats.
func (e *Engine) destroyStep(ctx context.Context, phase Phase, i int, res *StepResult) outcome {
	s := e.g.nodes[i].Step
	res.Name, res.Host = e.g.names[i], e.hostName(i)
	out := e.newStepOutput(phase, i, res)
	res.Start = e.now()
	ev := out.event(EventStarted)
	ev.Attempt = 1
	e.em.emit(ev)
	err := e.retry(ctx, i, out, &res.Attempts, func(ctx context.Context, attempt int) error {
		return e.runAttempt(ctx, out, attempt, res.Start, s.Destroy)
	})
	return e.finish(ctx, "destroy", res, out, err)
}
