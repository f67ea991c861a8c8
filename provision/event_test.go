package provision

import (
	"errors"
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
	if Transient(nil) != nil {
		t.Error("Transient(nil) != nil")
	}
	err := Transient(base)
	if !IsTransient(err) || !errors.Is(err, base) || err.Error() != "EOF" {
		t.Errorf("Transient(EOF) = %v", err)
	}
	if !IsTransient(&StepError{Step: "s", Err: err}) {
		t.Error("wrapping hides the mark")
	}
	if IsTransient(base) {
		t.Error("unmarked error is transient")
	}
}
