package xapi

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitForBacksOffOnEarlyEmptyBatches: a xapi that answers event.from
// at once with nothing must not be polled in a tight loop. The bound is
// a count of calls within the context's life (the old loop made
// thousands), never a duration.
func TestWaitForBacksOffOnEarlyEmptyBatches(t *testing.T) {
	f := newFakeXapi(t)
	var calls atomic.Int64
	f.handle("event.from", func([]any) (any, error) {
		calls.Add(1)
		return map[string]any{"events": []any{}, "valid_ref_counts": map[string]any{}, "token": "1"}, nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	batches := 0
	err := c.WaitFor(ctx, []string{"vm"}, func(context.Context, []Event) (bool, error) {
		batches++
		return false, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	// The snapshot, then calls 0, 50, 150 and 350ms in (the backoff
	// doubles from EventBackoff); a slow machine makes fewer.
	if n := calls.Load(); n > 6 {
		t.Fatalf("%d event.from calls while the context lived, want at most 6", n)
	}
}

// TestWaitForResyncsOnceOnEventsLost: EVENTS_LOST makes WaitFor start
// again from a fresh snapshot, once; a xapi that keeps answering it is an
// error, not a loop.
func TestWaitForResyncsOnceOnEventsLost(t *testing.T) {
	f := newFakeXapi(t)
	var calls, snapshots atomic.Int64
	f.handle("event.from", func(p []any) (any, error) {
		calls.Add(1)
		if p[1] == "" {
			snapshots.Add(1)
			return map[string]any{"events": []any{}, "valid_ref_counts": map[string]any{}, "token": "5"}, nil
		}
		return nil, &Error{Code: CodeEventsLost}
	})
	c := dialFake(t, f, f.serve(false).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batches := 0
	err := c.WaitFor(ctx, []string{"vm"}, func(context.Context, []Event) (bool, error) {
		batches++
		return false, nil
	})
	if !HasCode(err, CodeEventsLost) || ctx.Err() != nil {
		t.Fatalf("got %v (context %v), want EVENTS_LOST before the context ends", err, ctx.Err())
	}
	if calls.Load() != 4 || snapshots.Load() != 2 || batches != 2 {
		t.Fatalf("%d calls, %d snapshots, %d batches; want 4, 2, 2 (snapshot, lost, re-sync, lost)", calls.Load(), snapshots.Load(), batches)
	}
}

// TestWaitForRecoversFromOneEventsLost: after one EVENTS_LOST and a
// re-sync, events flow again and WaitFor finishes.
func TestWaitForRecoversFromOneEventsLost(t *testing.T) {
	f := newFakeXapi(t)
	var calls atomic.Int64
	f.handle("event.from", func(p []any) (any, error) {
		n := calls.Add(1)
		switch {
		case p[1] == "":
			return map[string]any{"events": []any{}, "valid_ref_counts": map[string]any{}, "token": "5"}, nil
		case n == 2:
			return nil, &Error{Code: CodeEventsLost}
		}
		return map[string]any{"events": []any{map[string]any{"id": "6", "class": "vm", "operation": "mod", "ref": "OpaqueRef:vm"}},
			"valid_ref_counts": map[string]any{}, "token": "6"}, nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.WaitFor(ctx, []string{"vm"}, func(_ context.Context, evs []Event) (bool, error) {
		return len(evs) == 1 && evs[0].Ref == "OpaqueRef:vm", nil
	})
	if err != nil || calls.Load() != 4 {
		t.Fatalf("got %v after %d calls, want success after 4 (snapshot, lost, re-sync, event)", err, calls.Load())
	}
}
