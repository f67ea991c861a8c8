package provision

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// State is where a step ended up in a run.
type State string

// Step states in a Report.
const (
	StateDone        State = "done"         // ran and succeeded
	StateAlreadyDone State = "already-done" // Check said the work was done; nothing ran
	StateFailed      State = "failed"       // ran (or was checked) and failed
	StateSkipped     State = "skipped"      // did not run: a dependency failed, or the run was interrupted first
	StateCanceled    State = "canceled"     // was running when the run was interrupted
)

// TailLines is how many of a step's last output lines a report keeps.
const TailLines = 20

// StepResult is one step's outcome in a run.
type StepResult struct {
	Name     string
	State    State
	Start    time.Time     // zero if the step never started
	Duration time.Duration // of Apply/Destroy including retries; of Check for already-done
	Attempts int           // Apply/Destroy attempts made (0 if it never ran)
	Err      error         // a *StepError for failed steps; the interruption for canceled ones
	Reason   string        // why a step was skipped
	Output   []string      // the last TailLines output lines
}

// Report is the outcome of one Apply or Destroy.
type Report struct {
	Phase    Phase
	Start    time.Time
	Duration time.Duration
	// Steps has one entry per step: in dependency order for Apply, in
	// reverse dependency order for Destroy.
	Steps []StepResult
	// Cleanup has the Destroy results of the OnError=cleanup phase, in the
	// order they ran (the newest applied step first). Empty otherwise.
	Cleanup []StepResult
	// Err is the error the run returned (nil on success).
	Err error
}

// Step returns the result for the named step.
func (r *Report) Step(name string) (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return StepResult{}, false
}

// Count returns how many steps ended in state s.
func (r *Report) Count(s State) int {
	n := 0
	for _, res := range r.Steps {
		if res.State == s {
			n++
		}
	}
	return n
}

// Names returns the names of the steps that ended in state s, in report order.
func (r *Report) Names(s State) []string {
	var names []string
	for _, res := range r.Steps {
		if res.State == s {
			names = append(names, res.Name)
		}
	}
	return names
}

// WriteTable writes the per-step timing table that ends every run: step,
// state, attempts and duration, then the cleanup steps if any, then the total.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tATTEMPTS\tDURATION")
	row := func(prefix string, s StepResult) {
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%s\n", prefix, s.Name, s.State, s.Attempts, FormatDuration(s.Duration))
	}
	for _, s := range r.Steps {
		row("", s)
	}
	for _, s := range r.Cleanup {
		row("cleanup: ", s)
	}
	fmt.Fprintf(tw, "total (%s)\t%s\t\t%s\n", r.Phase, r.Outcome(), FormatDuration(r.Duration))
	return tw.Flush()
}

// Outcome is the run's result in one word, as the timing table's total row
// and the JSON summary say it: "ok", "interrupted" or "failed".
func (r *Report) Outcome() string {
	switch {
	case r.Err == nil:
		return "ok"
	case ExitCode(r.Err) == ExitInterrupted:
		return "interrupted"
	default:
		return "failed"
	}
}

// FormatDuration rounds d for people: tenths of a second below a minute,
// whole seconds above.
func FormatDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
