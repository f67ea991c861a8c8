package render

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"xenlab/provision"
)

// JSON writes one JSON object per line for each event (see [JSONEvent]) and,
// on Close, one final summary object (see [JSONSummary]).
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewJSON returns a JSON-lines renderer writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// JSONEvent is the line written for one provision.Event.
type JSONEvent struct {
	Time     time.Time `json:"time"`
	Phase    string    `json:"phase"`
	Step     string    `json:"step"`           // the step's name, without its host
	Host     string    `json:"host,omitempty"` // the step's host, in a fleet
	Kind     string    `json:"kind"`
	Line     string    `json:"line,omitempty"`
	Duration float64   `json:"duration_seconds,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// JSONSummary is the last line: the run's report. Kind is always "summary".
// Outcome and ExitCode both come from the report's one error
// (provision.Report.Err), the value the process exits with.
type JSONSummary struct {
	Kind     string         `json:"kind"`
	Phase    string         `json:"phase"`
	Time     time.Time      `json:"time"`
	Duration float64        `json:"duration_seconds"`
	Outcome  string         `json:"outcome"` // ok, failed or interrupted
	ExitCode int            `json:"exit_code"`
	Error    string         `json:"error,omitempty"`
	Steps    []JSONStep     `json:"steps"`
	Cleanup  []JSONStep     `json:"cleanup,omitempty"`
	Counts   map[string]int `json:"counts"`
	// A fleet's run: one object per host, in the lab's order, and the
	// names of the hosts that failed (empty when none did).
	Hosts       []JSONHost `json:"hosts,omitempty"`
	FailedHosts []string   `json:"failed_hosts,omitzero"`
}

// JSONHost is one host's part of a fleet's summary: its outcome, its
// error, its time (first step's start to last step's end) and its steps.
type JSONHost struct {
	Name     string         `json:"name"`
	Outcome  string         `json:"outcome"` // ok, failed or interrupted
	Error    string         `json:"error,omitempty"`
	Start    time.Time      `json:"start,omitzero"`
	Duration float64        `json:"duration_seconds"`
	Steps    []JSONStep     `json:"steps"`
	Cleanup  []JSONStep     `json:"cleanup,omitempty"`
	Counts   map[string]int `json:"counts"`
}

// JSONStep is one step's result in the summary.
type JSONStep struct {
	Name       string    `json:"name"`
	Host       string    `json:"host,omitempty"` // the step's host, in a fleet
	State      string    `json:"state"`
	Start      time.Time `json:"start,omitzero"`
	Duration   float64   `json:"duration_seconds"`
	Attempts   int       `json:"attempts"`
	Error      string    `json:"error,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	OutputTail []string  `json:"output_tail,omitempty"`
}

// Event writes the event's line.
func (j *JSON) Event(ev provision.Event) {
	j.write(JSONEvent{
		Time: ev.Time.UTC(), Phase: string(ev.Phase), Step: ev.Step, Host: ev.Host, Kind: string(ev.Kind),
		Line: ev.Line, Duration: ev.Duration.Seconds(), Attempt: ev.Attempt, Error: ev.Err,
	})
}

// Close writes the summary line and reports the first write error, if any.
func (j *JSON) Close(rep *provision.Report) error {
	if rep != nil {
		j.write(summary(rep))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

func (j *JSON) write(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(v)
	}
}

func summary(rep *provision.Report) JSONSummary {
	s := JSONSummary{
		Kind: "summary", Phase: string(rep.Phase), Time: rep.Start.UTC(),
		Duration: rep.Duration.Seconds(), Outcome: rep.Outcome(),
		ExitCode: rep.ExitCode(), Steps: jsonSteps(rep.Steps),
		Cleanup: jsonSteps(rep.Cleanup), Counts: map[string]int{},
	}
	if rep.Err != nil {
		s.Error = rep.Err.Error()
	}
	for _, st := range rep.Steps {
		s.Counts[string(st.State)]++
	}
	if len(rep.Hosts) > 0 {
		s.FailedHosts = append([]string{}, rep.FailedHosts()...)
	}
	for _, h := range rep.Hosts {
		sub := rep.ForHost(h.Name)
		jh := JSONHost{
			Name: h.Name, Outcome: sub.Outcome(), Duration: h.Duration.Seconds(),
			Steps: jsonSteps(sub.Steps), Cleanup: jsonSteps(sub.Cleanup), Counts: map[string]int{},
		}
		if !h.Start.IsZero() {
			jh.Start = h.Start.UTC()
		}
		if h.Err != nil {
			jh.Error = h.Err.Error()
		}
		for _, st := range sub.Steps {
			jh.Counts[string(st.State)]++
		}
		s.Hosts = append(s.Hosts, jh)
	}
	return s
}

func jsonSteps(results []provision.StepResult) []JSONStep {
	if len(results) == 0 {
		return nil
	}
	out := make([]JSONStep, 0, len(results))
	for _, r := range results {
		js := JSONStep{
			Name: r.Name, Host: r.Host, State: string(r.State), Duration: r.Duration.Seconds(),
			Attempts: r.Attempts, Reason: r.Reason, OutputTail: r.Output,
		}
		if !r.Start.IsZero() {
			js.Start = r.Start.UTC()
		}
		if r.Err != nil {
			js.Error = r.Err.Error()
		}
		out = append(out, js)
	}
	return out
}
