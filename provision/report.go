package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
	Name     string // the step's name, without its host
	Host     string // the step's host in a fleet (see Node.Host); "" otherwise
	State    State
	Start    time.Time     // zero if the step never started
	Duration time.Duration // of Apply/Destroy including retries; of Check for already-done
	Attempts int           // Apply/Destroy attempts made (0 if it never ran)
	Err      error         // a *StepError for failed steps; the interruption for canceled ones
	Reason   string        // why a step was skipped
	Output   []string      // the last TailLines output lines
}

// Label is the step as people are shown it (see [Label]).
func (r StepResult) Label() string { return Label(r.Host, r.Name) }

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
	// Err is the error the run returned (nil on success). It is the one
	// value behind the report's outcome and exit code and the process's
	// exit status: a command whose run ends in an error of its own (a
	// view it could not read, a report it could not write) sets it here before closing
	// its renderers, so no report says ok for a run that exits non-zero.
	Err error
	// Hosts has one entry per host of a fleet (steps of several hosts, see
	// Node.Host), in graph order; nil for one host's run.
	Hosts []HostResult
}

// HostResult is one host's outcome in a fleet's run.
type HostResult struct {
	Name     string
	Start    time.Time     // its first step's start; zero if none ran
	Duration time.Duration // from Start to the end of its last step
	// Err is nil when every step of the host succeeded; else it joins its
	// failed steps' errors, the interruption if the host did not finish,
	// and any failure of its cleanup.
	Err error
}

// FleetError is the error of a fleet's run in which some hosts failed (or
// were interrupted before they finished): it names them, and wraps every
// failed step's error and the interruption, so [ExitCode] is what it
// would be for one host.
type FleetError struct {
	Hosts  int      // the hosts in the run
	Failed []string // the hosts that failed, in graph order
	Err    error
}

func (e *FleetError) Error() string {
	return fmt.Sprintf("%s: %v", e.head(), e.Err)
}

func (e *FleetError) head() string {
	return fmt.Sprintf("%d of %d hosts failed (%s)", len(e.Failed), e.Hosts, strings.Join(e.Failed, ", "))
}

// Unwrap returns the steps' errors and the interruption.
func (e *FleetError) Unwrap() error { return e.Err }

// fleetError is a fleet's run error: a *FleetError wrapping rep.Err when
// a host failed, else rep.Err (nil, or an interruption that came once
// every host had finished).
func fleetError(rep *Report) error {
	failed := rep.FailedHosts()
	if len(failed) == 0 {
		return rep.Err
	}
	return &FleetError{Hosts: len(rep.Hosts), Failed: failed, Err: rep.Err}
}

// FailedHosts names the hosts of a fleet whose run failed or was
// interrupted, in graph order (nil for one host's run).
func (r *Report) FailedHosts() []string {
	var names []string
	for _, h := range r.Hosts {
		if h.Err != nil {
			names = append(names, h.Name)
		}
	}
	return names
}

// ForHost returns host's part of a fleet's report: its steps and cleanup,
// its time and its error, as a report of its own.
func (r *Report) ForHost(host string) *Report {
	sub := &Report{Phase: r.Phase}
	for _, h := range r.Hosts {
		if h.Name == host {
			sub.Start, sub.Duration, sub.Err = h.Start, h.Duration, h.Err
		}
	}
	for _, s := range r.Steps {
		if s.Host == host {
			sub.Steps = append(sub.Steps, s)
		}
	}
	for _, s := range r.Cleanup {
		if s.Host == host {
			sub.Cleanup = append(sub.Cleanup, s)
		}
	}
	return sub
}

// ExitCode is the exit status of the run: [ExitCode] of Err.
func (r *Report) ExitCode() int { return ExitCode(r.Err) }

// Step returns the result for a step by its label: its name, or in a
// fleet "<host>/<step>" (see [Label]).
func (r *Report) Step(label string) (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Label() == label {
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

// Names returns the labels (see [Label]) of the steps that ended in state
// s, in report order.
func (r *Report) Names(s State) []string {
	var names []string
	for _, res := range r.Steps {
		if res.State == s {
			names = append(names, res.Label())
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
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%s\n", prefix, s.Label(), s.State, s.Attempts, FormatDuration(s.Duration))
	}
	for _, s := range r.Steps {
		row("", s)
	}
	for _, s := range r.Cleanup {
		row("cleanup: ", s)
	}
	for _, h := range r.Hosts {
		fmt.Fprintf(tw, "host %s\t%s\t\t%s\n", h.Name, r.ForHost(h.Name).Outcome(), FormatDuration(h.Duration))
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
	case errors.Is(r.Err, context.Canceled):
		return "interrupted"
	default:
		return "failed"
	}
}

// Summary is the run in one line for people: the phase, its outcome (with
// the interruption's cause) and how many steps ended in each state, naming
// the failed and canceled ones, e.g. "apply interrupted: SIGTERM: 2 done,
// 1 canceled (domU), 6 not run".
func (r *Report) Summary() string {
	head := string(r.Phase) + " " + r.Outcome()
	var ie *InterruptedError
	if errors.As(r.Err, &ie) {
		head = ie.Error()
	}
	var fe *FleetError
	if errors.As(r.Err, &fe) {
		head += ": " + fe.head()
	} else if len(r.Hosts) > 0 {
		head += fmt.Sprintf(": %d hosts", len(r.Hosts))
	}
	var parts []string
	for _, st := range []State{StateDone, StateAlreadyDone, StateFailed, StateCanceled, StateSkipped} {
		n := r.Count(st)
		if n == 0 {
			continue
		}
		label := string(st)
		if st == StateSkipped {
			label = "not run"
		}
		part := fmt.Sprintf("%d %s", n, label)
		if st == StateFailed || st == StateCanceled {
			part += " (" + strings.Join(r.Names(st), ", ") + ")"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return head
	}
	return head + ": " + strings.Join(parts, ", ")
}

// FormatDuration rounds d for people: tenths of a second below a minute,
// whole seconds above.
func FormatDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
