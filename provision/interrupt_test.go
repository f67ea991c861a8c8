package provision

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

type sigCause struct{ sig syscall.Signal }

func (s sigCause) Error() string     { return "got " + s.sig.String() }
func (s sigCause) Signal() os.Signal { return s.sig }

// TestInterruptedBySignal: a run interrupted because its context was
// cancelled with a signal as the cause exits 128+n (143 for SIGTERM), its
// report says interrupted with the same exit code, and its message names
// the cause and what the steps did, never "context canceled".
func TestInterruptedBySignal(t *testing.T) {
	l := newLab("a", "b:a")
	ctx, cancel := context.WithCancelCause(context.Background())
	l.steps["a"].apply = func(ctx context.Context, _ Output) error {
		cancel(sigCause{syscall.SIGTERM})
		<-ctx.Done()
		return ctx.Err()
	}
	e, err := New(l.list, Options{Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Apply(ctx)
	if ExitCode(err) != 143 || rep.ExitCode() != 143 || rep.Outcome() != "interrupted" {
		t.Fatalf("ExitCode %d, report %d %s; err %v", ExitCode(err), rep.ExitCode(), rep.Outcome(), err)
	}
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "context canceled") ||
		!strings.Contains(err.Error(), "apply interrupted: got terminated") {
		t.Errorf("err = %q", err)
	}
	if got, want := rep.Summary(), "apply interrupted: got terminated: 1 canceled (a), 1 not run"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}
