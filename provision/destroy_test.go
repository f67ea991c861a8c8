package provision

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDestroyReverseOrder(t *testing.T) {
	tests := []struct {
		name     string
		specs    []string
		parallel int
	}{
		{"chain", []string{"a", "b:a", "c:b"}, 4},
		{"diamond", []string{"a", "b:a", "c:a", "d:b,c"}, 4},
		{"diamond serial", []string{"a", "b:a", "c:a", "d:b,c"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(tt.specs...)
			e := mustNew(t, l.list, Options{Parallel: tt.parallel})
			rep, err := e.Destroy(context.Background())
			if err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			calls := l.log.list()
			for _, n := range l.list {
				s := n.Step
				at := slices.Index(calls, "destroy:"+s.Name())
				for _, d := range s.Deps() {
					if slices.Index(calls, "destroy:"+d) < at {
						t.Errorf("%s destroyed before %s, which depends on it: %v", d, s.Name(), calls)
					}
				}
			}
			if rep.Phase != PhaseDestroy || rep.Count(StateDone) != len(tt.specs) {
				t.Errorf("report %s: %v", rep.Phase, states(rep))
			}
			if names := rep.Names(StateDone); names[0] != e.Steps()[len(names)-1] {
				t.Errorf("report order %v, want reverse of %v", names, e.Steps())
			}
		})
	}
}

func TestDestroyFailureKeepsDependencies(t *testing.T) {
	l := newLab("net", "vm:net", "other")
	l.steps["vm"].destroy = func(context.Context, Output) error { return errors.New("VM_BAD_POWER_STATE") }
	rep, err := mustNew(t, l.list, Options{}).Destroy(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "vm" || se.Op != "destroy" {
		t.Fatalf("err = %v, want vm's destroy StepError", err)
	}
	want := map[string]State{"vm": StateFailed, "net": StateSkipped, "other": StateDone}
	if got := states(rep); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if res, _ := rep.Step("net"); !strings.Contains(res.Reason, "vm") || res.Reason != "dependent vm failed to destroy" {
		t.Errorf("net skip reason %q should name vm", res.Reason)
	}
}

func TestOnErrorPolicy(t *testing.T) {
	tests := []struct {
		policy      OnError
		wantCleanup []string
	}{
		// a, b, c ran (c failed, possibly half done); pre was already done
		// before the run and d was skipped: neither is touched.
		{Cleanup, []string{"destroy:c", "destroy:b", "destroy:a"}},
		{Retain, nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			l := newLab("pre", "a:pre", "b:a", "c:b", "d:c")
			l.steps["pre"].done.Store(true)
			l.steps["c"].apply = func(context.Context, Output) error { return errors.New("stack.sh failed") }
			e := mustNew(t, l.list, Options{OnError: tt.policy, Parallel: 1})
			rep, err := e.Apply(context.Background())
			if ExitCode(err) != 1 {
				t.Fatalf("err = %v, want a step failure", err)
			}
			var destroys []string
			for _, c := range l.log.list() {
				if strings.HasPrefix(c, "destroy:") {
					destroys = append(destroys, c)
				}
			}
			if !slices.Equal(destroys, tt.wantCleanup) {
				t.Errorf("destroyed %v, want %v", destroys, tt.wantCleanup)
			}
			if len(rep.Cleanup) != len(tt.wantCleanup) {
				t.Errorf("report cleanup = %+v", rep.Cleanup)
			}
			for _, r := range rep.Cleanup {
				if r.State != StateDone {
					t.Errorf("cleanup of %s: %s %v", r.Name, r.State, r.Err)
				}
			}
			if tt.policy == Cleanup && l.steps["a"].done.Load() {
				t.Error("a's work is still on the host after cleanup")
			}
			if !l.steps["pre"].done.Load() {
				t.Error("cleanup destroyed pre, which this run did not create")
			}
		})
	}
}

// Newest first means by when each step finished: with parallel steps that
// is not the graph order.
func TestCleanupNewestFirstWithParallelSteps(t *testing.T) {
	l := newLab("x", "y", "z:x,y")
	xDone := make(chan struct{})
	// y finishes only after the engine has seen x finish, so y is the newer.
	rec := &recorder{onEv: func(ev Event) {
		if ev.Step == "x" && ev.Kind == EventDone && ev.Phase == PhaseApply {
			close(xDone)
		}
	}}
	l.steps["y"].apply = func(context.Context, Output) error { return waitOrFail(xDone, "x") }
	l.steps["z"].apply = func(context.Context, Output) error { return errors.New("boom") }
	_, err := mustNew(t, l.list, Options{OnError: Cleanup, Renderer: rec}).Apply(context.Background())
	if err == nil {
		t.Fatal("Apply succeeded, want z to fail")
	}
	var destroys []string
	for _, c := range l.log.list() {
		if strings.HasPrefix(c, "destroy:") {
			destroys = append(destroys, c)
		}
	}
	if want := []string{"destroy:z", "destroy:y", "destroy:x"}; !slices.Equal(destroys, want) {
		t.Errorf("cleanup order %v, want %v", destroys, want)
	}
}

func TestCleanupAfterInterruptStillRuns(t *testing.T) {
	l := newLab("a", "b:a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.steps["b"].apply = func(ctx context.Context, _ Output) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	rep, err := mustNew(t, l.list, Options{OnError: Cleanup}).Apply(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	if len(rep.Cleanup) != 2 || rep.Cleanup[0].Name != "b" || rep.Cleanup[1].Name != "a" {
		t.Errorf("cleanup = %+v, want b then a", rep.Cleanup)
	}
	if l.steps["a"].done.Load() {
		t.Error("a not cleaned up after the interrupt")
	}
}

func TestCleanupFailureJoinsError(t *testing.T) {
	l := newLab("a", "b:a")
	l.steps["b"].apply = func(context.Context, Output) error { return errors.New("boom") }
	l.steps["a"].destroy = func(context.Context, Output) error { return errors.New("VDI in use") }
	rep, err := mustNew(t, l.list, Options{OnError: Cleanup}).Apply(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cleanup") || !strings.Contains(err.Error(), "VDI in use") {
		t.Fatalf("err = %v, want it to report the failed cleanup", err)
	}
	if len(rep.Cleanup) != 2 || rep.Cleanup[1].State != StateFailed {
		t.Errorf("cleanup = %+v", rep.Cleanup)
	}
}

// Destroy runs independent steps together too: b and c (both needing a,
// both needed by d) can only finish if both are inside Destroy at once.
func TestDestroyRunsIndependentStepsTogether(t *testing.T) {
	l := newLab("a", "b:a", "c:a", "d:b,c")
	bIn, cIn := make(chan struct{}), make(chan struct{})
	l.steps["b"].destroy = func(context.Context, Output) error {
		close(bIn)
		return waitOrFail(cIn, "c to be inside Destroy with b")
	}
	l.steps["c"].destroy = func(context.Context, Output) error {
		close(cIn)
		return waitOrFail(bIn, "b to be inside Destroy with c")
	}
	if _, err := mustNew(t, l.list, Options{Parallel: 2}).Destroy(context.Background()); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if got := l.log.list(); got[0] != "destroy:d" || got[3] != "destroy:a" {
		t.Errorf("calls = %v, want d first and a last", got)
	}
}

// An interrupted Destroy starts nothing more and says so for each step left.
func TestDestroyInterrupted(t *testing.T) {
	l := newLab("a", "b:a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.steps["b"].destroy = func(ctx context.Context, _ Output) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	rep, err := mustNew(t, l.list, Options{}).Destroy(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "destroy interrupted") {
		t.Fatalf("err = %v, want the destroy interrupted", err)
	}
	want := map[string]State{"b": StateCanceled, "a": StateSkipped}
	if got := states(rep); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if res, _ := rep.Step("a"); res.Reason != "not started: destroy interrupted" {
		t.Errorf("a skip reason %q", res.Reason)
	}
	if got := l.log.list(); !slices.Equal(got, []string{"destroy:b"}) {
		t.Errorf("calls = %v, want only b", got)
	}
}
