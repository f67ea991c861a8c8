// Package clocktest is a fake provision.Clock for tests: time stands still
// until the test advances it, and the test can see every time limit and
// wait the engine has asked for. It proves an hour's bound without the
// hour.
package clocktest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of pending timers.
const (
	KindTimeout = "timeout" // a WithTimeout's deadline
	KindAfter   = "after"   // an After's (backoff, heartbeat)
)

// Clock is a fake provision.Clock. The zero value is not usable: use New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*timer
	changed chan struct{} // closed and replaced when pending changes
}

// Timer is a pending timer as the test sees it.
type Timer struct {
	Kind string
	D    time.Duration // as asked
	At   time.Time     // when it fires, on this clock
}

type timer struct {
	Timer
	fire func()
}

// New returns a clock that reads start until advanced.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Pending returns the timers not yet fired nor stopped, earliest first.
func (c *Clock) Pending() []Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Timer, len(c.pending))
	for i, t := range c.pending {
		out[i] = t.Timer
	}
	return out
}

// Advance moves the clock d forward and fires, in time order, every timer
// due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*timer
	c.pending = slices.DeleteFunc(c.pending, func(t *timer) bool {
		if t.At.After(c.now) {
			return false
		}
		due = append(due, t)
		return true
	})
	if len(due) > 0 {
		c.signal()
	}
	c.mu.Unlock()
	for _, t := range due {
		t.fire()
	}
}

// WaitFor blocks until ok holds for the pending timers (checked now and
// after each change), or ctx ends.
func (c *Clock) WaitFor(ctx context.Context, ok func([]Timer) bool) error {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if ok(c.Pending()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal wakes WaitFor; c.mu is held.
func (c *Clock) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// add registers a timer firing d from now and returns its stop function.
func (c *Clock) add(kind string, d time.Duration, fire func()) func() {
	c.mu.Lock()
	t := &timer{Timer: Timer{Kind: kind, D: d, At: c.now.Add(d)}, fire: fire}
	// After the timers due no later: those due at once fire in the
	// order they were made.
	at := slices.IndexFunc(c.pending, func(p *timer) bool { return p.At.After(t.At) })
	if at < 0 {
		at = len(c.pending)
	}
	c.pending = slices.Insert(c.pending, at, t)
	c.signal()
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i := slices.Index(c.pending, t); i >= 0 {
			c.pending = slices.Delete(c.pending, i, i+1)
			c.signal()
		}
	}
}

// After returns a channel that receives once the clock has been advanced
// by d, and a function that stops it.
func (c *Clock) After(d time.Duration) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	stop := c.add(KindAfter, d, func() { ch <- c.Now() })
	return ch, stop
}

// WithTimeout returns a copy of ctx that ends, with
// context.DeadlineExceeded, once the clock has been advanced by d.
func (c *Clock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancelCause(ctx)
	dc := &deadlineCtx{Context: inner, at: c.Now().Add(d)}
	stop := c.add(KindTimeout, d, func() {
		dc.expired.Store(true)
		cancel(context.DeadlineExceeded)
	})
	return dc, func() {
		stop()
		cancel(context.Canceled)
	}
}

// deadlineCtx is a context with a deadline on the fake clock.
type deadlineCtx struct {
	context.Context
	at      time.Time
	expired atomic.Bool
}

func (d *deadlineCtx) Deadline() (time.Time, bool) { return d.at, true }

func (d *deadlineCtx) Err() error {
	err := d.Context.Err()
	if err != nil && d.expired.Load() {
		return context.DeadlineExceeded
	}
	return err
}
