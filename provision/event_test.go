package provision

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

type beginRecorder struct {
	recorder
	phases []Phase
	err    error
}

func (b *beginRecorder) Begin(p Phase, _ []string) { b.phases = append(b.phases, p) }
func (b *beginRecorder) Close(*Report) error       { return b.err }

func TestMultiFansOut(t *testing.T) {
	a := &beginRecorder{err: errors.New("disk full")}
	b := &recorder{}
	m := Multi(a, nil, b)
	m.(PhaseStarter).Begin(PhaseApply, []string{"x"})
	m.Event(Event{Step: "x", Kind: EventStarted})
	if len(a.events) != 1 || len(b.events) != 1 || !slices.Equal(a.phases, []Phase{PhaseApply}) {
		t.Errorf("a: %v %v, b: %v", a.events, a.phases, b.events)
	}
	rep := &Report{}
	if err := m.Close(rep); err == nil || err.Error() != "disk full" {
		t.Errorf("Close = %v, want the failing renderer's error", err)
	}
	if b.closed != rep {
		t.Error("second renderer not closed")
	}
}

func TestTransient(t *testing.T) {
	base := errors.New("EOF")
	err := fmt.Errorf("reading: %w", temporaryErr(true))
	if !IsTransient(err) || !IsTransient(&StepError{Step: "s", Err: err}) {
		t.Error("wrapping hides what the error says")
	}
	if IsTransient(base) || IsTransient(temporaryErr(false)) || IsTransient(nil) {
		t.Error("an error that does not say it is transient is")
	}
	// The outermost error that knows decides.
	if IsTransient(permanentWrap{temporaryErr(true)}) {
		t.Error("a wrapper that says permanent was overruled")
	}
}

// permanentWrap knows better than the error it wraps.
type permanentWrap struct{ err error }

func (p permanentWrap) Error() string   { return "gave up: " + p.err.Error() }
func (p permanentWrap) Unwrap() error   { return p.err }
func (p permanentWrap) Transient() bool { return false }
