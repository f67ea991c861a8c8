package provision

import (
	"context"
	"fmt"
	"sync"
)

// How says how Apply will make a [Change]: what else it touches, as
// Terraform says "update in-place" or "must be replaced".
type How string

// The ways a lab-file edit is applied.
const (
	// InPlace changes the object as it is: nothing stops (a network's
	// name, a file in domU).
	InPlace How = "in place"
	// DomUStopped needs domU halted (memory, vCPUs: xapi refuses them on
	// a running VM with VM_BAD_POWER_STATE): domU is shut down, changed
	// and started again, so its services start again too.
	DomUStopped How = "domU stopped"
	// DomURebuilt replaces domU (or its template): what was in it is lost.
	DomURebuilt How = "domU rebuilt"
	// Restack runs stack.sh in domU again with the new settings.
	Restack How = "stack.sh again"
)

// Change is one difference between the lab file and the host that a
// step's Apply will remove: the lab-file field, what the host has, what
// the file asks for, how it is made and what that costs.
type Change struct {
	Field string // the lab file's field, e.g. "domu.memory"
	From  string // what the host has now ("" when it has nothing)
	To    string // what the lab file asks for
	How   How
	Cost  string // what making it costs, in words ("a clean shutdown and a boot of domU")
}

// String renders the change as `plan` prints it:
// `domu.memory: 4GiB -> 64GiB (domU stopped: a clean shutdown and a boot of domU)`.
func (c Change) String() string {
	s := fmt.Sprintf("%s: %s -> %s (%s", c.Field, orNone(c.From), orNone(c.To), c.How)
	if c.Cost != "" {
		s += ": " + c.Cost
	}
	return s + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// changeSink collects the changes one step's Check reports.
type changeSink struct {
	mu   sync.Mutex
	list []Change
}

type changeKey struct{}

// withChanges returns a context whose Check calls can report changes into
// the returned sink.
func withChanges(ctx context.Context) (context.Context, *changeSink) {
	s := &changeSink{}
	return context.WithValue(ctx, changeKey{}, s), s
}

// ReportChanges is called by a step's Check for each difference it found
// between the lab file and the host: Plan shows them under the step (and
// `plan --json` lists them), so a user sees what `up` will change and how
// before it does. A Check that reports a change must return done=false.
// Outside a plan it does nothing. It travels in ctx, so it reaches the
// engine through any wrapper around the step.
func ReportChanges(ctx context.Context, cs ...Change) {
	s, ok := ctx.Value(changeKey{}).(*changeSink)
	if !ok || len(cs) == 0 {
		return
	}
	s.mu.Lock()
	s.list = append(s.list, cs...)
	s.mu.Unlock()
}

// reset forgets what an earlier attempt of Check reported.
func (s *changeSink) reset() {
	s.mu.Lock()
	s.list = nil
	s.mu.Unlock()
}

func (s *changeSink) all() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Change(nil), s.list...)
}

// ChangesWanted reports whether ctx is a plan's Check, which shows the
// changes a step reports: a Check may then read more to say what
// differs (the old value of a setting), and skip that reading otherwise.
func ChangesWanted(ctx context.Context) bool {
	_, ok := ctx.Value(changeKey{}).(*changeSink)
	return ok
}
