package xapi

import (
	"context"
	"fmt"
	"time"
)

// CodeEventsLost is xapi's answer to event.from with a token so old that
// events were dropped; WaitFor then starts again from a fresh token.
const CodeEventsLost = "EVENTS_LOST"

// EventWait is how long WaitFor asks each event.from to block.
const EventWait = 30 * time.Second

// Event is one entry of event.from's events.
type Event struct {
	ID        int64
	Timestamp string
	Class     string // vm, vif, network, task, vm_guest_metrics, ...
	Operation string // add, mod, del
	Ref       Ref
	// Snapshot is the object's record after the change (absent for del);
	// decode it with the record's UnmarshalXAPI.
	Snapshot any
}

// EventBatch is event.from's result: xapi returns a struct, not an array.
type EventBatch struct {
	Events         []Event
	ValidRefCounts map[string]int64
	// Token is passed to the next event.from to get only later events.
	Token string
}

// EventFrom returns the events on classes ("vm", "task", "*", or one
// object as "task/OpaqueRef:...") since token ("" for every current
// object), blocking up to timeout seconds when there are none yet.
func (c *Client) EventFrom(ctx context.Context, classes []string, token string, timeout float64) (EventBatch, error) {
	const method = "event.from"
	extra := time.Duration(timeout * float64(time.Second))
	v, err := c.call(ctx, method, []any{stringList(classes), token, timeout}, extra)
	if err != nil {
		return EventBatch{}, err
	}
	b, err := decodeEventBatch(v)
	if err != nil {
		return EventBatch{}, c.shapeErr(method, err)
	}
	return b, nil
}

func decodeEventBatch(v any) (EventBatch, error) {
	f := newFields("event.from result", v)
	b := EventBatch{Token: f.str("token"), ValidRefCounts: map[string]int64{}}
	if f.err != nil {
		return b, f.err
	}
	if counts, ok := f.raw("valid_ref_counts").(map[string]any); ok {
		for k, cv := range counts {
			n, err := asInt(cv)
			if err != nil {
				return b, fmt.Errorf("valid_ref_counts %s: %w", k, err)
			}
			b.ValidRefCounts[k] = n
		}
	}
	evs, ok := f.raw("events").([]any)
	if !ok && f.raw("events") != nil {
		return b, fmt.Errorf("events is %T, want an array", f.raw("events"))
	}
	for i, ev := range evs {
		ef := newFields("event", ev)
		e := Event{
			ID: ef.int("id"), Timestamp: ef.str("timestamp"), Class: ef.str("class"),
			Operation: ef.str("operation"), Ref: ef.ref("ref"), Snapshot: ef.raw("snapshot"),
		}
		if ef.err != nil {
			return b, fmt.Errorf("event %d: %w", i, ef.err)
		}
		b.Events = append(b.Events, e)
	}
	return b, nil
}

// Backoff between event.from calls that come back early with nothing new
// (an empty batch, or the token unchanged, well before their timeout):
// xapi itself blocks until there is news, so only a broken or hostile
// server answers that way, and it must not be polled in a tight loop.
const (
	EventBackoff    = 50 * time.Millisecond
	MaxEventBackoff = 5 * time.Second
)

// WaitFor waits on xapi events instead of polling with sleeps. It calls
// done first with the events of event.from(classes, "") (in xapi: one "add"
// per existing object, so done sees the current state), then with each later
// batch (possibly empty, after EventWait), until done returns true or an
// error, or ctx ends. done may ignore the events and read what it needs.
//
// On EVENTS_LOST it re-syncs once: a fresh snapshot (token "") and done
// again with it. EVENTS_LOST again before any batch arrived from the new
// token is returned as the error.
func (c *Client) WaitFor(ctx context.Context, classes []string, done func(ctx context.Context, events []Event) (bool, error)) error {
	token := ""
	resynced := false
	backoff := EventBackoff
	for {
		wait := EventWait
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if token == "" || wait < 0 {
			wait = 0
		}
		start := time.Now()
		b, err := c.EventFrom(ctx, classes, token, wait.Seconds())
		if HasCode(err, CodeEventsLost) && token != "" && !resynced {
			token, resynced = "", true
			continue
		}
		if err != nil {
			if HasCode(err, CodeEventsLost) && resynced {
				return fmt.Errorf("xapi: waiting for events on %v: events lost again after a re-sync: %w", classes, err)
			}
			return err
		}
		ok, err := done(ctx, b.Events)
		if err != nil || ok {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("xapi: waiting for events on %v: %w", classes, err)
		}
		early := token != "" && time.Since(start) < wait/2
		if early && (len(b.Events) == 0 || b.Token == token) {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("xapi: waiting for events on %v: %w", classes, ctx.Err())
			case <-t.C:
			}
			backoff = min(2*backoff, MaxEventBackoff)
		} else if token != "" {
			backoff = EventBackoff
			resynced = false
		}
		token = b.Token
	}
}
