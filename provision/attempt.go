package provision

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stepOutput is the Output handed to one step in one phase: lines become
// output events and the last TailLines are kept for the report.
type stepOutput struct {
	em      *emitter
	phase   Phase
	step    string
	host    string // in a fleet: the events' Host
	on      string // the node's host, which its errors name
	attempt atomic.Int32
	spoke   atomic.Bool // output since the last heartbeat tick

	mu   sync.Mutex
	last []string
}

func (e *Engine) newStepOutput(phase Phase, i int, res *StepResult) *stepOutput {
	return &stepOutput{em: e.em, phase: phase, step: res.Name, host: res.Host, on: e.g.nodes[i].Host}
}

// event is an event of this step and phase.
func (o *stepOutput) event(kind EventKind) Event {
	return Event{Phase: o.phase, Step: o.step, Host: o.host, Kind: kind}
}

// Line implements Output. A line with embedded newlines becomes several.
func (o *stepOutput) Line(format string, args ...any) {
	text := strings.TrimRight(fmt.Sprintf(format, args...), "\r\n")
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		o.spoke.Store(true)
		o.mu.Lock()
		o.last = append(o.last, l)
		if len(o.last) > TailLines {
			o.last = o.last[len(o.last)-TailLines:]
		}
		o.mu.Unlock()
		ev := o.event(EventOutput)
		ev.Line, ev.Attempt = l, int(o.attempt.Load())
		o.em.emit(ev)
	}
}

func (o *stepOutput) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.last...)
}

// retry calls fn for node i until it succeeds, fails with an error that
// is not transient, runs out of attempts, or ctx ends; each call gets the
// node's time limit. attempts, if not nil, is set to the number of calls.
// With out set, each retry is announced as an event and as a line of the
// step's output, which says why and when.
func (e *Engine) retry(ctx context.Context, i int, out *stepOutput, attempts *int, fn func(ctx context.Context, attempt int) error) error {
	max := e.attemptsFor(i)
	for attempt := 1; ; attempt++ {
		if attempts != nil {
			*attempts = attempt
		}
		err := e.withTimeout(ctx, i, func(ctx context.Context) error {
			return recovered(e.g.label(i), func() error { return fn(ctx, attempt) })
		})
		if err == nil || ctx.Err() != nil || !IsTransient(err) || attempt >= max {
			return err
		}
		delay := e.opts.Backoff(attempt)
		if out != nil {
			out.Line("transient failure, attempt %d of %d in %s: %v", attempt+1, max, FormatDuration(delay), err)
			ev := out.event(EventRetry)
			ev.Attempt, ev.Duration, ev.Err = attempt+1, delay, err.Error()
			e.em.emit(ev)
		}
		if e.sleep(ctx, delay) != nil {
			return err
		}
	}
}

// withTimeout runs fn under node i's time limit, saying so in the error
// when the limit (rather than the caller) ended it.
func (e *Engine) withTimeout(ctx context.Context, i int, fn func(context.Context) error) error {
	limit := e.timeoutFor(i)
	if limit <= 0 {
		return fn(ctx)
	}
	tctx, cancel := e.opts.Clock.WithTimeout(ctx, limit)
	defer cancel()
	err := fn(tctx)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return fmt.Errorf("timed out after %s: %w", limit, err)
	}
	return err
}

// sleep waits d on the engine's clock, or until ctx ends.
func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c, stop := e.opts.Clock.After(d)
	defer stop()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runAttempt calls op for one attempt, emitting a heartbeat every interval
// in which the step wrote no output. No heartbeat is emitted after it returns.
func (e *Engine) runAttempt(ctx context.Context, out *stepOutput, attempt int, start time.Time, op func(context.Context, Output) error) error {
	out.attempt.Store(int32(attempt))
	if e.opts.Heartbeat < 0 {
		return op(ctx, out)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			tick, stopTick := e.opts.Clock.After(e.opts.Heartbeat)
			select {
			case <-stop:
				stopTick()
				return
			case <-tick:
				if !out.spoke.Swap(false) {
					ev := out.event(EventHeartbeat)
					ev.Attempt, ev.Duration = attempt, e.since(start)
					e.em.emit(ev)
				}
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	return op(ctx, out)
}
