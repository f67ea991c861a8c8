package render

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/internal/schemacheck"
	"xenlab/provision"
)

// TestJSONEventsMatchSchema runs the engine through the JSON renderer so
// that every event kind and every phase appears (apply with a retry, a
// heartbeat, a failure, a skip and an up-to-date step; the cleanup phase
// after it; a destroy; an interrupted apply with a canceled step) and
// validates every line against docs/events.schema.json. cli's
// TestUpOnSimulatedHost does the same for a real bring-up.
func TestJSONEventsMatchSchema(t *testing.T) {
	s, err := schemacheck.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	opts := provision.Options{Parallel: 1, Heartbeat: time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }}

	// apply, then the cleanup phase.
	var lb lockedBuffer
	failedOnce := false
	steps := append(failingLab(), provision.Nodes(
		&step{name: "flaky", apply: func(context.Context, provision.Output) error {
			if !failedOnce {
				failedOnce = true
				return tryAgain{}
			}
			return nil
		}},
		&step{name: "slow", apply: func(ctx context.Context, _ provision.Output) error {
			// Quiet until the engine has sent a heartbeat (bounded).
			for i := 0; i < 2000 && !strings.Contains(lb.String(), `"kind":"heartbeat"`); i++ {
				time.Sleep(time.Millisecond)
			}
			return nil
		}})...)
	o := opts
	o.OnError, o.Renderer = provision.Cleanup, NewJSON(&lb)
	e, err := provision.New(steps, o)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := e.Apply(context.Background())
	o.Renderer.Close(rep)
	all := lb.String()

	// destroy.
	var b bytes.Buffer
	o = opts
	o.Renderer = NewJSON(&b)
	if e, err = provision.New(failingLab(), o); err != nil {
		t.Fatal(err)
	}
	rep, _ = e.Destroy(context.Background())
	o.Renderer.Close(rep)
	all += b.String()

	// An apply interrupted while a step runs.
	b.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	o = opts
	o.Heartbeat, o.Renderer = -1, NewJSON(&b)
	if e, err = provision.New(provision.Nodes(&step{name: "boot", apply: func(ctx context.Context, _ provision.Output) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}), o); err != nil {
		t.Fatal(err)
	}
	rep, _ = e.Apply(ctx)
	o.Renderer.Close(rep)
	all += b.String()

	kinds, err := s.ValidateLines(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started", "output", "done", "failed", "skipped", "retry", "uptodate", "heartbeat", "canceled", "summary"} {
		if kinds[k] == 0 {
			t.Errorf("no %q line to check (kinds %v)", k, kinds)
		}
	}
	for _, p := range []string{`"phase":"apply"`, `"phase":"cleanup"`, `"phase":"destroy"`, `"outcome":"interrupted"`, `"cleanup":[`} {
		if !strings.Contains(all, p) {
			t.Errorf("no line with %s to check", p)
		}
	}
}

// tryAgain is an error that says it is transient, as xapi's
// OTHER_OPERATION_IN_PROGRESS does.
type tryAgain struct{}

func (tryAgain) Error() string   { return "xapi VM.start: OTHER_OPERATION_IN_PROGRESS" }
func (tryAgain) Transient() bool { return true }
