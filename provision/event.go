package provision

import (
	"errors"
	"sync"
	"time"
)

// Phase names the engine operation an event or report belongs to.
type Phase string

// Phases of a run.
const (
	PhasePlan    Phase = "plan"    // Engine.Plan (emits no events)
	PhaseApply   Phase = "apply"   // Engine.Apply
	PhaseDestroy Phase = "destroy" // Engine.Destroy
	PhaseCleanup Phase = "cleanup" // the OnError=cleanup phase after a failed Apply
)

// EventKind says what happened to a step.
type EventKind string

// Event kinds.
const (
	EventStarted   EventKind = "started"   // the step's Apply (or Destroy) began
	EventOutput    EventKind = "output"    // the step wrote Line
	EventDone      EventKind = "done"      // it succeeded after Duration
	EventFailed    EventKind = "failed"    // it failed after Duration with Err
	EventSkipped   EventKind = "skipped"   // it did not run; Line says why
	EventRetry     EventKind = "retry"     // attempt Attempt starts after waiting Duration; Err is the last error
	EventUpToDate  EventKind = "uptodate"  // Check said the work is already done
	EventHeartbeat EventKind = "heartbeat" // still running after Duration with no output lately
	EventCanceled  EventKind = "canceled"  // interrupted after Duration
)

// Event is one thing that happened to one step during a run.
type Event struct {
	Time     time.Time
	Phase    Phase
	Step     string // the step's name, without its host
	Host     string // the step's host in a fleet (see Node.Host); "" otherwise
	Kind     EventKind
	Line     string        // output line, or the reason for a skip
	Duration time.Duration // for done, failed, canceled, heartbeat (elapsed) and retry (delay)
	Attempt  int           // the attempt this event belongs to (1-based)
	Err      string        // for failed and retry
}

// Renderer shows a run's events. The engine calls Event from one goroutine at
// a time; the caller calls Close once, after the run, with its report.
type Renderer interface {
	Event(Event)
	Close(*Report) error
}

// Label is the event's step as people are shown it (see [Label]).
func (ev Event) Label() string { return Label(ev.Host, ev.Step) }

// PhaseStarter is an optional interface for a Renderer that wants to know,
// before a phase's first event, which steps the phase covers (for example to
// size a progress bar), by their labels (see [Label]).
type PhaseStarter interface {
	Begin(phase Phase, steps []string)
}

// LaneStarter is an optional interface for a Renderer that shows a fleet
// host by host: before a phase of a fleet's run its BeginLanes is called
// instead of PhaseStarter's Begin, with each host's steps.
type LaneStarter interface {
	BeginLanes(phase Phase, lanes []Lane)
}

// Lane is one host's steps in a phase of a fleet's run.
type Lane struct {
	Host  string
	Steps []string // the steps' names, without the host
}

// Multi fans events out to several renderers (nil ones are ignored). Close
// closes them all and joins their errors.
func Multi(rs ...Renderer) Renderer {
	var m multi
	for _, r := range rs {
		if r != nil {
			m = append(m, r)
		}
	}
	return m
}

type multi []Renderer

func (m multi) Event(ev Event) {
	for _, r := range m {
		r.Event(ev)
	}
}

func (m multi) Begin(phase Phase, steps []string) {
	for _, r := range m {
		if b, ok := r.(PhaseStarter); ok {
			b.Begin(phase, steps)
		}
	}
}

func (m multi) BeginLanes(phase Phase, lanes []Lane) {
	for _, r := range m {
		BeginLanes(r, phase, lanes)
	}
}

// BeginLanes starts a fleet's phase on r: its BeginLanes if r shows lanes
// ([LaneStarter]), else its Begin ([PhaseStarter]) with every step's label
// ("<host>/<step>"). A renderer that wraps another starts it with this.
func BeginLanes(r Renderer, phase Phase, lanes []Lane) {
	if l, ok := r.(LaneStarter); ok {
		l.BeginLanes(phase, lanes)
		return
	}
	if b, ok := r.(PhaseStarter); ok {
		var steps []string
		for _, l := range lanes {
			for _, s := range l.Steps {
				steps = append(steps, Label(l.Host, s))
			}
		}
		b.Begin(phase, steps)
	}
}

func (m multi) Close(rep *Report) error {
	var errs []error
	for _, r := range m {
		errs = append(errs, r.Close(rep))
	}
	return errors.Join(errs...)
}

// emitter serializes events to the engine's renderer and stamps their time.
type emitter struct {
	mu  sync.Mutex
	r   Renderer
	now func() time.Time
}

func (e *emitter) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.r.Event(ev)
}

// begin tells the renderer which nodes a phase covers, in the phase's
// order: a fleet's host by host, in graph order whatever the phase's
// order, to a renderer that shows lanes; else every step by its label.
func (e *Engine) begin(phase Phase, nodes []int) {
	e.em.mu.Lock()
	defer e.em.mu.Unlock()
	if e.g.fleet() {
		byHost := make([][]string, len(e.g.hosts))
		for _, i := range nodes {
			byHost[e.g.host[i]] = append(byHost[e.g.host[i]], e.g.names[i])
		}
		var lanes []Lane
		for h, name := range e.g.hosts {
			if len(byHost[h]) > 0 {
				lanes = append(lanes, Lane{Host: name, Steps: byHost[h]})
			}
		}
		BeginLanes(e.em.r, phase, lanes)
		return
	}
	if b, ok := e.em.r.(PhaseStarter); ok {
		steps := make([]string, len(nodes))
		for k, i := range nodes {
			steps[k] = e.g.names[i]
		}
		b.Begin(phase, steps)
	}
}
