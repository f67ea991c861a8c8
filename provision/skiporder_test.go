package provision

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestSkippedInStepOrder (issue 18): when a step fails, the steps that
// depend on it are skipped, and their skipped events come in the graph's
// step order, not in the order the dependency edges were walked (here a
// depth-first walk would give d, e, b, c).
func TestSkippedInStepOrder(t *testing.T) {
	l := newLab("pre", "b:pre", "c:b", "d:pre", "e:d", "f:c,e")
	l.steps["pre"].apply = func(context.Context, Output) error { return errors.New("unreachable") }
	// Dependents listed so that pre's edges lead to d before b.
	l.steps["d"].deps = []string{"pre"}
	rec := &recorder{}
	e := mustNew(t, l.list, Options{Renderer: rec})
	if _, err := e.Apply(context.Background()); err == nil {
		t.Fatal("Apply succeeded with a failing first step")
	}
	var skipped []string
	for _, ev := range rec.events {
		if ev.Kind == EventSkipped {
			skipped = append(skipped, ev.Step)
		}
	}
	if want := []string{"b", "c", "d", "e", "f"}; !slices.Equal(skipped, want) {
		t.Fatalf("skipped events in order %v, want the step order %v", skipped, want)
	}
}
