package provision

import (
	"context"
	"time"
)

// Clock is the engine's time: the stamps and durations of events and
// reports, each attempt's time limit, the wait before a retry and the
// heartbeat. The system's clock is the default; a test gives the engine
// a fake one to prove a step's bound (an hour for stack.sh) without
// waiting for it.
type Clock interface {
	Now() time.Time
	// WithTimeout is context.WithTimeout on this clock: the returned
	// context ends once d has passed, with context.DeadlineExceeded as
	// its error.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// After returns a channel that receives once d has passed, and a
	// function that stops it (after which it may never receive).
	After(d time.Duration) (<-chan time.Time, func())
}

// SystemClock is the system's clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// WithTimeout is context.WithTimeout.
func (SystemClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// After is a time.Timer.
func (SystemClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}
