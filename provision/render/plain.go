package render

import (
	"fmt"
	"io"
	"sync"
	"time"

	"xenlab/provision"
)

// Plain writes one timestamped line per event, for logs:
//
//	2026-11-24T20:31:02Z networks started
//	2026-11-24T20:31:02Z networks | created network OpenStack VM Network
//	2026-11-24T20:31:03Z networks done 1.2s
//	2026-11-24T20:31:33Z domu still running 30s
//
// Heartbeat lines come from heartbeat events, which the engine emits every
// provision.Options.Heartbeat (default 30s) while a step writes nothing.
// Close writes the timing table.
type Plain struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPlain returns a plain renderer writing to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w} }

// Event writes the event's line.
func (p *Plain) Event(ev provision.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", ev.Time.UTC().Format(time.RFC3339), describe(ev))
}

// Close writes a blank line and the timing table.
func (p *Plain) Close(rep *provision.Report) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rep == nil {
		return nil
	}
	fmt.Fprintln(p.w)
	return rep.WriteTable(p.w)
}

// describe is an event in words, without its time: the step ("<host>/<step>"
// in a fleet; with its phase unless it is apply) and what happened. Every string of the event is
// escaped (see Escape): output lines and errors quote servers.
func describe(ev provision.Event) string {
	who, line, errText := Escape(ev.Label()), Escape(ev.Line), Escape(ev.Err)
	ev.Line, ev.Err = line, errText
	if ev.Phase != provision.PhaseApply && ev.Phase != "" {
		who += " (" + string(ev.Phase) + ")"
	}
	d := provision.FormatDuration(ev.Duration)
	switch ev.Kind {
	case provision.EventOutput:
		return who + " | " + ev.Line
	case provision.EventDone:
		if ev.Attempt > 1 {
			return fmt.Sprintf("%s done %s (attempt %d)", who, d, ev.Attempt)
		}
		return fmt.Sprintf("%s done %s", who, d)
	case provision.EventFailed:
		return fmt.Sprintf("%s failed after %s: %s", who, d, ev.Err)
	case provision.EventSkipped:
		return fmt.Sprintf("%s skipped: %s", who, ev.Line)
	case provision.EventRetry:
		return fmt.Sprintf("%s retrying (attempt %d) in %s: %s", who, ev.Attempt, d, ev.Err)
	case provision.EventUpToDate:
		return who + " already done"
	case provision.EventHeartbeat:
		return fmt.Sprintf("%s still running %s", who, d)
	case provision.EventCanceled:
		return fmt.Sprintf("%s canceled after %s", who, d)
	default:
		return fmt.Sprintf("%s %s", who, ev.Kind)
	}
}
