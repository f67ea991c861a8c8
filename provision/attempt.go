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
	attempt atomic.Int32
	spoke   atomic.Bool // output since the last heartbeat tick

	mu   sync.Mutex
	last []string
}

func newStepOutput(em *emitter, phase Phase, step string) *stepOutput {
	return &stepOutput{em: em, phase: phase, step: step}
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
		o.em.emit(Event{Phase: o.phase, Step: o.step, Kind: EventOutput, Line: l, Attempt: int(o.attempt.Load())})
	}
}

func (o *stepOutput) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.last...)
}

// retry calls fn for step s until it succeeds, fails with an error not
// marked Transient, runs out of attempts, or ctx ends; each call gets the
// step's time limit. attempts, if not nil, is set to the number of calls.
// With out set, retries are announced as events.
func (e *Engine) retry(ctx context.Context, s Step, out *stepOutput, attempts *int, fn func(ctx context.Context, attempt int) error) error {
	name := s.Name()
	max := e.attemptsFor(s)
	for attempt := 1; ; attempt++ {
		if attempts != nil {
			*attempts = attempt
		}
		err := e.withTimeout(ctx, s, func(ctx context.Context) error {
			return recovered(name, func() error { return fn(ctx, attempt) })
		})
		if err == nil || ctx.Err() != nil || !IsTransient(err) || attempt >= max {
			return err
		}
		delay := e.opts.Backoff(attempt)
		if out != nil {
			e.em.emit(Event{Phase: out.phase, Step: name, Kind: EventRetry, Attempt: attempt + 1, Duration: delay, Err: err.Error()})
		}
		if sleep(ctx, delay) != nil {
			return err
		}
	}
}

// withTimeout runs fn under s's time limit, saying so in the error when the
// limit (rather than the caller) ended it.
func (e *Engine) withTimeout(ctx context.Context, s Step, fn func(context.Context) error) error {
	limit := e.timeoutFor(s)
	if limit <= 0 {
		return fn(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := fn(tctx)
	if err != nil && ctx.Err() == nil && tctx.Err() != nil {
		return fmt.Errorf("timed out after %s: %w", limit, err)
	}
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
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
		tick := time.NewTicker(e.opts.Heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if !out.spoke.Swap(false) {
					e.em.emit(Event{Phase: out.phase, Step: out.step, Kind: EventHeartbeat, Attempt: attempt, Duration: e.since(start)})
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
