package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestApplyRunsDependenciesFirst(t *testing.T) {
	tests := []struct {
		name     string
		specs    []string
		parallel int
	}{
		{"chain", []string{"c:b", "b:a", "a"}, 4},
		{"diamond", []string{"d:b,c", "b:a", "c:a", "a"}, 4},
		{"fan-in serial", []string{"z:x,y", "x", "y", "w:z"}, 1},
		{"wide", []string{"a", "b", "c", "d", "e:a,b,c,d", "f:e", "g:a"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(tt.specs...)
			e := mustNew(t, l.list, Options{Parallel: tt.parallel})
			rep, err := e.Apply(context.Background())
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			calls := l.log.list()
			if len(calls) != len(tt.specs) {
				t.Fatalf("calls = %v, want one apply per step", calls)
			}
			for _, n := range l.list {
				s := n.Step
				at := slices.Index(calls, "apply:"+s.Name())
				for _, d := range s.Deps() {
					if slices.Index(calls, "apply:"+d) > at {
						t.Errorf("%s applied before its dependency %s: %v", s.Name(), d, calls)
					}
				}
			}
			if got := rep.Count(StateDone); got != len(tt.specs) {
				t.Errorf("done = %d, want %d (%v)", got, len(tt.specs), states(rep))
			}
			if tt.parallel == 1 && !slices.Equal(trimOp(calls), e.Steps()) {
				t.Errorf("serial order %v, want the graph order %v", calls, e.Steps())
			}
		})
	}
}

func trimOp(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		_, out[i], _ = strings.Cut(c, ":")
	}
	return out
}

// The diamond's middle steps can only both finish if they are inside Apply
// at the same time: each waits for the other to arrive.
func TestDiamondRunsMiddleStepsTogether(t *testing.T) {
	l := newLab("a", "b:a", "c:a", "d:b,c")
	bIn, cIn := make(chan struct{}), make(chan struct{})
	l.steps["b"].apply = func(ctx context.Context, _ Output) error {
		close(bIn)
		return waitOrFail(cIn, "c to be inside Apply with b")
	}
	l.steps["c"].apply = func(ctx context.Context, _ Output) error {
		close(cIn)
		return waitOrFail(bIn, "b to be inside Apply with c")
	}
	e := mustNew(t, l.list, Options{Parallel: 2})
	rep, err := e.Apply(context.Background())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := l.log.list(); got[0] != "apply:a" || got[3] != "apply:d" {
		t.Errorf("calls = %v, want a first and d last", got)
	}
	if rep.Count(StateDone) != 4 {
		t.Errorf("states = %v", states(rep))
	}
}

// overlapMeter counts how many steps are inside Apply at once.
type overlapMeter struct {
	now, max atomic.Int32
}

func (m *overlapMeter) enter() {
	n := m.now.Add(1)
	for {
		old := m.max.Load()
		if n <= old || m.max.CompareAndSwap(old, n) {
			return
		}
	}
}

func (m *overlapMeter) leave() { m.now.Add(-1) }

func TestParallelBoundsConcurrency(t *testing.T) {
	for _, parallel := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("parallel=%d", parallel), func(t *testing.T) {
			l := newLab("a", "b", "c", "d", "e", "f")
			var m overlapMeter
			// No step waits for another: this checks the upper bound only
			// (the diamond test proves that steps do run together).
			for _, s := range l.steps {
				s.apply = func(ctx context.Context, _ Output) error {
					m.enter()
					defer m.leave()
					for range 1000 {
						if m.now.Load() > int32(parallel) {
							return fmt.Errorf("%d steps running at once, limit %d", m.now.Load(), parallel)
						}
					}
					return nil
				}
			}
			e := mustNew(t, l.list, Options{Parallel: parallel})
			if _, err := e.Apply(context.Background()); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := m.max.Load(); got > int32(parallel) {
				t.Errorf("max concurrent = %d, want <= %d", got, parallel)
			}
		})
	}
}

func TestApplyCancelMidStep(t *testing.T) {
	l := newLab("a", "b:a", "c:b", "e")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sawDone := make(chan struct{})
	l.steps["b"].apply = func(ctx context.Context, out Output) error {
		out.Line("b is working")
		cancel()
		<-ctx.Done()
		close(sawDone)
		return ctx.Err()
	}
	rec := &recorder{}
	// Parallel 1 and graph order a, b, c, e: e is still waiting when b is
	// interrupted, so it must never start.
	e := mustNew(t, l.list, Options{Parallel: 1, Renderer: rec})
	rep, err := e.Apply(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ExitCode(err) != 130 {
		t.Errorf("ExitCode = %d, want 130", ExitCode(err))
	}
	select {
	case <-sawDone:
	default:
		t.Error("b never saw its context canceled")
	}
	want := map[string]State{"a": StateDone, "b": StateCanceled, "c": StateSkipped, "e": StateSkipped}
	if got := states(rep); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if got := l.log.list(); !slices.Equal(got, []string{"apply:a", "apply:b"}) {
		t.Errorf("calls = %v, want only a and b to start", got)
	}
	if b, _ := rep.Step("b"); !slices.Equal(b.Output, []string{"b is working"}) {
		t.Errorf("b output tail = %q", b.Output)
	}
	if _, ok := rec.find("b", EventCanceled); !ok {
		t.Errorf("no canceled event for b: %v", rec.kinds("b"))
	}
	for _, name := range []string{"c", "e"} {
		if res, _ := rep.Step(name); res.Reason != "not started: apply interrupted" {
			t.Errorf("%s skip reason %q", name, res.Reason)
		}
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFailureSkipsDependentsOnly(t *testing.T) {
	l := newLab("a", "b:a", "c:b", "d", "e:d")
	boom := errors.New("xe network-create: exit status 1")
	l.steps["a"].apply = func(context.Context, Output) error { return boom }
	rec := &recorder{}
	e := mustNew(t, l.list, Options{Renderer: rec})
	rep, err := e.Apply(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "a" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want a *StepError for a wrapping the step's error", err)
	}
	if ExitCode(err) != 1 {
		t.Errorf("ExitCode = %d, want 1", ExitCode(err))
	}
	want := map[string]State{"a": StateFailed, "b": StateSkipped, "c": StateSkipped, "d": StateDone, "e": StateDone}
	if got := states(rep); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	for _, name := range []string{"b", "c"} {
		ev, ok := rec.find(name, EventSkipped)
		if !ok || !strings.Contains(ev.Line, "a failed") {
			t.Errorf("skip event for %s = %+v, want the reason to name a", name, ev)
		}
	}
	if a, _ := rep.Step("a"); a.Attempts != 1 {
		t.Errorf("a attempts = %d: a non-transient error must not be retried", a.Attempts)
	}
	if rep.Cleanup != nil || slices.Contains(l.log.list(), "destroy:d") {
		t.Errorf("retain policy destroyed something: %v", l.log.list())
	}
}

func TestRetry(t *testing.T) {
	flaky := errors.New("connection reset by peer")
	tests := []struct {
		name         string
		failures     int  // attempts that fail before success
		transient    bool // failures are marked Transient
		stepAttempts int  // the node's own Attempts (0: the options')
		wantAttempts int
		wantState    State
	}{
		{"transient then success", 2, true, 0, 3, StateDone},
		{"non-transient not retried", 2, false, 0, 1, StateFailed},
		{"transient bounded by MaxAttempts", 10, true, 0, 3, StateFailed},
		{"per-step attempt limit", 4, true, 5, 5, StateDone},
		{"per-step limit also bounds", 10, true, 2, 2, StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab("net")
			calls := 0
			l.steps["net"].apply = func(context.Context, Output) error {
				calls++
				if calls <= tt.failures {
					if tt.transient {
						return fmt.Errorf("%w: %w", flaky, temporaryErr(true))
					}
					return flaky
				}
				return nil
			}
			step := Node{Step: l.steps["net"], Attempts: tt.stepAttempts}
			var delays []int
			rec := &recorder{}
			e := mustNew(t, []Node{step}, Options{MaxAttempts: 3, Renderer: rec, Backoff: func(attempt int) time.Duration {
				delays = append(delays, attempt)
				return 0
			}})
			rep, err := e.Apply(context.Background())
			res, _ := rep.Step("net")
			if res.State != tt.wantState || res.Attempts != tt.wantAttempts || calls != tt.wantAttempts {
				t.Errorf("state %s, attempts %d, calls %d; want %s, %d", res.State, res.Attempts, calls, tt.wantState, tt.wantAttempts)
			}
			if (err == nil) != (tt.wantState == StateDone) {
				t.Errorf("err = %v", err)
			}
			if len(delays) != tt.wantAttempts-1 {
				t.Errorf("backoff asked for %v, want one delay per retry", delays)
			}
			retries := 0
			for _, k := range rec.kinds("net") {
				if k == EventRetry {
					retries++
				}
			}
			if retries != tt.wantAttempts-1 {
				t.Errorf("%d retry events, want %d", retries, tt.wantAttempts-1)
			}
		})
	}
}

func TestSecondApplyRunsNothing(t *testing.T) {
	l := newLab("a", "b:a", "c:a", "d:b,c")
	e := mustNew(t, l.list, Options{})
	if _, err := e.Apply(context.Background()); err != nil {
		t.Fatalf("first Apply: %v", err)
	}
	first := len(l.log.list())
	rec := &recorder{}
	e2 := mustNew(t, l.list, Options{Renderer: rec})
	rep, err := e2.Apply(context.Background())
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if got := l.log.list()[first:]; len(got) != 0 {
		t.Errorf("second Apply called %v, want nothing", got)
	}
	if rep.Count(StateAlreadyDone) != 4 {
		t.Errorf("states = %v, want all already-done", states(rep))
	}
	for _, ev := range rec.events {
		if ev.Kind != EventUpToDate {
			t.Errorf("unexpected event %+v on a converged host", ev)
		}
	}
}

func TestResumeAfterFailure(t *testing.T) {
	l := newLab("a", "b:a", "c:b")
	fail := true
	l.steps["b"].apply = func(context.Context, Output) error {
		if fail {
			return errors.New("boom")
		}
		return nil
	}
	if _, err := mustNew(t, l.list, Options{}).Apply(context.Background()); err == nil {
		t.Fatal("first Apply succeeded, want b to fail")
	}
	fail = false
	rep, err := mustNew(t, l.list, Options{}).Apply(context.Background())
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	want := map[string]State{"a": StateAlreadyDone, "b": StateDone, "c": StateDone}
	if got := states(rep); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
}

// temporaryErr says itself whether it is worth trying again, as xapi's
// errors do (provision.Temporary).
type temporaryErr bool

func (e temporaryErr) Error() string   { return "xapi VM.start: OTHER_OPERATION_IN_PROGRESS" }
func (e temporaryErr) Transient() bool { return bool(e) }

// TestRetryWhatTheErrorSays: an error that says it is transient is
// retried, even wrapped; one that says it is not fails at once; the step's
// output says why it tried again.
func TestRetryWhatTheErrorSays(t *testing.T) {
	for _, transient := range []bool{true, false} {
		l := newLab("boot")
		calls := 0
		l.steps["boot"].apply = func(context.Context, Output) error {
			if calls++; calls == 1 {
				return fmt.Errorf("starting domU: %w", temporaryErr(transient))
			}
			return nil
		}
		rep, err := mustNew(t, l.list, Options{}).Apply(context.Background())
		res, _ := rep.Step("boot")
		if transient && (err != nil || res.Attempts != 2 || !slices.ContainsFunc(res.Output, func(l string) bool {
			return strings.HasPrefix(l, "transient failure, attempt 2 of 3 in 0s: starting domU: xapi VM.start: OTHER_OPERATION_IN_PROGRESS")
		})) {
			t.Errorf("transient: err %v, attempts %d, output %q", err, res.Attempts, res.Output)
		}
		if !transient && (err == nil || res.Attempts != 1) {
			t.Errorf("permanent: err %v, attempts %d", err, res.Attempts)
		}
	}
}
