package collect

import (
	"fmt"
	"strings"
	"sync"

	"xenlab/provision"
)

// StepLog is a provision.Renderer that keeps every event of a run, per
// step, so that a failed run's logs hold each step's whole output rather
// than the report's last lines. It keeps at most DefaultMaxFile bytes per
// step (the newest).
type StepLog struct {
	mu    sync.Mutex
	steps map[stepKey]*stepLines
	order []stepKey
}

// stepKey is a step of a host (Host is "" for one host's run).
type stepKey struct{ host, name string }

type stepLines struct {
	lines []string
	bytes int
}

// NewStepLog returns an empty StepLog.
func NewStepLog() *StepLog { return &StepLog{steps: map[stepKey]*stepLines{}} }

// Event records ev as one line of its step.
func (s *StepLog) Event(ev provision.Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", ev.Time.UTC().Format("15:04:05.000"), ev.Phase, ev.Kind)
	if ev.Duration > 0 {
		fmt.Fprintf(&b, " (%s)", ev.Duration.Round(1e6))
	}
	if ev.Line != "" {
		b.WriteString(": " + ev.Line)
	}
	if ev.Err != "" {
		b.WriteString(": " + ev.Err)
	}
	line := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := stepKey{ev.Host, ev.Step}
	st := s.steps[key]
	if st == nil {
		st = &stepLines{}
		s.steps[key] = st
		s.order = append(s.order, key)
	}
	st.lines = append(st.lines, line)
	st.bytes += len(line) + 1
	for st.bytes > DefaultMaxFile && len(st.lines) > 1 {
		st.bytes -= len(st.lines[0]) + 1
		st.lines = st.lines[1:]
	}
}

// Close does nothing: the log is read by Host.
func (s *StepLog) Close(*provision.Report) error { return nil }

// stepText is one step's recorded lines.
type stepText struct{ host, name, text string }

// text returns the recorded lines of each step, in the order the steps
// first had an event.
func (s *StepLog) text() []stepText {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stepText, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, stepText{k.host, k.name, strings.Join(s.steps[k].lines, "\n") + "\n"})
	}
	return out
}
