package provision

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestPlanKeepsEachStepsChanges: what a Check reports with ReportChanges
// is its planned step's Changes, also through a wrapper that hides the
// step's type; a retried Check's earlier report is dropped; outside a plan
// ReportChanges does nothing and ChangesWanted is false.
func TestPlanKeepsEachStepsChanges(t *testing.T) {
	mem := Change{Field: "domu.memory", From: "4GiB", To: "6GiB", How: DomUStopped, Cost: "a reboot"}
	name := Change{Field: "networks.vm", From: "a", To: "b", How: InPlace}
	log := &callLog{}
	tries := 0
	var wanted []bool
	domU := &fakeStep{name: "domU", log: log, check: func(ctx context.Context) (bool, error) {
		tries++
		wanted = append(wanted, ChangesWanted(ctx))
		ReportChanges(ctx, mem)
		if tries == 1 {
			return false, tryAgain{errors.New("try again")}
		}
		return false, nil
	}}
	nets := &fakeStep{name: "networks", log: log, check: func(ctx context.Context) (bool, error) {
		ReportChanges(ctx, name)
		return false, nil
	}}
	done := &fakeStep{name: "boot", deps: []string{"domU"}, log: log}
	done.done.Store(true)
	type wrapped struct{ Step } // hides everything but Step's methods
	eng, err := New(Nodes(wrapped{nets}, domU, done), Options{Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Change{}
	for _, s := range p.Steps {
		got[s.Name] = s.Changes
	}
	if !slices.Equal(got["domU"], []Change{mem}) || !slices.Equal(got["networks"], []Change{name}) || len(got["boot"]) != 0 {
		t.Errorf("planned changes: %v", got)
	}
	if !slices.Equal(wanted, []bool{true, true}) {
		t.Errorf("ChangesWanted in plan's checks: %v", wanted)
	}
	if s := mem.String(); s != "domu.memory: 4GiB -> 6GiB (domU stopped: a reboot)" {
		t.Errorf("Change.String() = %q", s)
	}
	if s := (Change{Field: "networks.public", To: "x", How: InPlace}).String(); s != "networks.public: (none) -> x (in place)" {
		t.Errorf("Change.String() = %q", s)
	}

	// Outside a plan.
	ctx := context.Background()
	ReportChanges(ctx, mem)
	if ChangesWanted(ctx) {
		t.Error("ChangesWanted outside a plan")
	}
}

// tryAgain is an error that says it is transient.
type tryAgain struct{ error }

func (tryAgain) Transient() bool { return true }
