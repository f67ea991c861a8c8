package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadGraphs(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string // substrings of the error
	}{
		{"cycle", []string{"a:c", "b:a", "c:b"}, []string{"cycle", "a", "b", "c"}},
		{"self", []string{"a:a"}, []string{"cycle: a -> a"}},
		{"unknown", []string{"vm:netwrk"}, []string{`"vm"`, `unknown step "netwrk"`}},
		{"duplicate", []string{"net", "vm", "net"}, []string{`duplicate step name "net"`, "#1", "#3"}},
		{"empty name", []string{""}, []string{"empty name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(newLab(tt.specs...).list, Options{})
			if err == nil {
				t.Fatal("New accepted the graph")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := New([]Node{{}}, Options{}); err == nil {
		t.Error("New accepted a nil step")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Parallel: -1}, {MaxAttempts: -2}, {OnError: "explode"}} {
		_, err := New(nil, o)
		if ExitCode(err) != 2 {
			t.Errorf("New(%+v) = %v, want a usage error", o, err)
		}
	}
}

func TestExitCode(t *testing.T) {
	step := &StepError{Step: "vm", Op: "apply", Err: errors.New("boom")}
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{step, 1},
		{fmt.Errorf("up: %w", step), 1},
		{errors.New("plain"), 1},
		{context.DeadlineExceeded, 1},
		{fmt.Errorf("apply interrupted: %w", context.Canceled), 130},
		{errors.Join(step, context.Canceled), 130},
		{&UsageError{Err: errors.New("bad flag")}, 2},
		{fmt.Errorf("lab.hcl: %w", configErr{}), 2},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

type configErr struct{}

func (configErr) Error() string { return "lab.hcl:3,5: unsupported argument" }
func (configErr) ConfigError()  {}

func TestStepTimeout(t *testing.T) {
	l := newLab("slow", "fast")
	l.steps["slow"].apply = func(ctx context.Context, _ Output) error { <-ctx.Done(); return ctx.Err() }
	// slow's own 1ms limit overrides the engine's hour; fast, whose
	// negative limit means none, is independent and still runs.
	steps := []Node{{Step: l.steps["slow"], Timeout: time.Millisecond}, {Step: l.steps["fast"], Timeout: -1}}
	rep, err := mustNew(t, steps, Options{StepTimeout: time.Hour}).Apply(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the step's deadline", err)
	}
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "timed out after 1ms") {
		t.Errorf("err = %v (exit %d), want a step failure naming the limit", err, ExitCode(err))
	}
	if got := states(rep); got["slow"] != StateFailed || got["fast"] != StateDone {
		t.Errorf("states = %v", got)
	}
}

func TestEngineWideTimeout(t *testing.T) {
	l := newLab("slow")
	l.steps["slow"].apply = func(ctx context.Context, _ Output) error { <-ctx.Done(); return ctx.Err() }
	_, err := mustNew(t, l.list, Options{StepTimeout: time.Millisecond}).Apply(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestPanickingStepFails(t *testing.T) {
	l := newLab("bad", "after:bad")
	l.steps["bad"].apply = func(context.Context, Output) error { panic("nil map") }
	rep, err := mustNew(t, l.list, Options{}).Apply(context.Background())
	if err == nil || !strings.Contains(err.Error(), "panicked: nil map") {
		t.Fatalf("err = %v", err)
	}
	if got := states(rep); got["bad"] != StateFailed || got["after"] != StateSkipped {
		t.Errorf("states = %v", got)
	}
}

func TestCheckFailure(t *testing.T) {
	l := newLab("a", "b:a")
	l.steps["a"].check = func(context.Context) (bool, error) { return false, errors.New("xapi: SESSION_INVALID") }
	rep, err := mustNew(t, l.list, Options{}).Apply(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Op != "check" {
		t.Fatalf("err = %v, want a check StepError", err)
	}
	if len(l.log.list()) != 0 || states(rep)["b"] != StateSkipped {
		t.Errorf("calls %v, states %v", l.log.list(), states(rep))
	}
}

func TestOutputTailAndEvents(t *testing.T) {
	l := newLab("chatty")
	l.steps["chatty"].apply = func(_ context.Context, out Output) error {
		for i := range 30 {
			out.Line("line %d", i)
		}
		out.Line("two\nlines\n")
		return nil
	}
	rec := &recorder{}
	rep, err := mustNew(t, l.list, Options{Renderer: rec}).Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, _ := rep.Step("chatty")
	if len(res.Output) != TailLines || res.Output[0] != "line 12" || res.Output[TailLines-1] != "lines" {
		t.Errorf("tail = %q", res.Output)
	}
	kinds := rec.kinds("chatty")
	if kinds[0] != EventStarted || kinds[len(kinds)-1] != EventDone || len(kinds) != 2+32 {
		t.Errorf("events = %v", kinds)
	}
}

// A step with no output gets heartbeats while it runs; the step waits until
// one has been emitted (bounded), so no timing is asserted.
func TestHeartbeatDuringQuietStep(t *testing.T) {
	l := newLab("quiet")
	beat := make(chan struct{})
	var once bool
	rec := &recorder{onEv: func(ev Event) {
		if ev.Kind == EventHeartbeat && !once {
			once = true
			close(beat)
		}
	}}
	l.steps["quiet"].apply = func(context.Context, Output) error { return waitOrFail(beat, "a heartbeat") }
	_, err := mustNew(t, l.list, Options{Renderer: rec, Heartbeat: time.Millisecond}).Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kinds := rec.kinds("quiet")
	if kinds[len(kinds)-1] != EventDone {
		t.Errorf("events after done: %v", kinds)
	}
}

func TestPlan(t *testing.T) {
	l := newLab("a", "b:a", "c:b")
	l.steps["a"].done.Store(true)
	l.steps["c"].check = func(context.Context) (bool, error) { return false, errors.New("ssh: handshake failed") }
	e := mustNew(t, l.list, Options{})
	plan, err := e.Plan(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "c" {
		t.Fatalf("err = %v, want c's check error", err)
	}
	if got := plan.Pending(); strings.Join(got, ",") != "b,c" {
		t.Errorf("pending = %v", got)
	}
	if len(l.log.list()) != 0 {
		t.Errorf("Plan changed the host: %v", l.log.list())
	}
	var b strings.Builder
	if err := plan.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"already done", "handshake failed", "2 of 3 steps"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("plan text lacks %q:\n%s", w, b.String())
		}
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff(time.Second, 5*time.Second)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b(i + 1); got != w {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rep := &Report{Phase: PhaseApply, Duration: 83 * time.Second, Steps: []StepResult{
		{Name: "networks", State: StateDone, Attempts: 1, Duration: 1234 * time.Millisecond},
		{Name: "domu", State: StateFailed, Attempts: 3, Duration: 62 * time.Second},
	}, Err: errors.New("x")}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "STEP           STATE   ATTEMPTS  DURATION\n" +
		"networks       done    1         1.2s\n" +
		"domu           failed  3         1m2s\n" +
		"total (apply)  failed            1m23s\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestReportOutcome(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("apply interrupted: %w", context.Canceled), "interrupted"},
		{&StepError{Step: "domu", Op: "apply", Err: errors.New("boom")}, "failed"},
	} {
		if got := (&Report{Err: tt.err}).Outcome(); got != tt.want {
			t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
