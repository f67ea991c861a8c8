package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"xenlab/provision"
)

// lanes is the terminal view of a fleet's phase: one line per host (its
// lane) under the status lines, each with the host's own bar, its count
// of steps ended and what it runs now, or how it ended:
//
//	apply 12s
//	xs1  [==========----------]  3/6  domu, boot
//	xs2  [====================]  6/6  ok
//	xs3  [=======-------------]  2/6  failed (networks)
//
// The block is redrawn in place (cursor up, erase) on every event and
// every refresh; lines printed above it scroll away as usual.
type lanes struct {
	w     io.Writer
	phase provision.Phase
	start time.Time
	lanes []*lane
	drawn int // lines of the block on the screen now
}

// lane is one host's progress in the phase.
type lane struct {
	host    string
	total   int
	ended   int
	running []string
	failed  []string
}

func newLanes(w io.Writer, phase provision.Phase, ls []provision.Lane) *lanes {
	v := &lanes{w: w, phase: phase, start: time.Now()}
	for _, l := range ls {
		v.lanes = append(v.lanes, &lane{host: l.Host, total: len(l.Steps)})
	}
	return v
}

func (v *lanes) lane(host string) *lane {
	for _, l := range v.lanes {
		if l.host == host {
			return l
		}
	}
	return nil
}

// event updates the host's lane and prints the event's line above the
// block, as the single-host view does.
func (v *lanes) event(ev provision.Event) {
	l := v.lane(ev.Host)
	step := ev.Step
	switch ev.Kind {
	case provision.EventHeartbeat:
		return
	case provision.EventStarted:
		if l != nil {
			l.running = append(l.running, step)
		}
		v.draw()
		return
	case provision.EventDone, provision.EventUpToDate, provision.EventFailed,
		provision.EventSkipped, provision.EventCanceled:
		if l != nil {
			if i := slices.Index(l.running, step); i >= 0 {
				l.running = slices.Delete(l.running, i, i+1)
			}
			l.ended++
			if ev.Kind == provision.EventFailed || ev.Kind == provision.EventCanceled {
				l.failed = append(l.failed, step)
			}
		}
	}
	v.above(statusLine(ev))
}

// above prints line above the block and redraws the block under it.
func (v *lanes) above(line string) {
	v.erase()
	fmt.Fprintln(v.w, line)
	v.draw()
}

// erase moves to the block's first line and clears to the end of the
// screen.
func (v *lanes) erase() {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[J", v.drawn)
		v.drawn = 0
	}
}

// draw (re)draws the block.
func (v *lanes) draw() {
	v.erase()
	width := 0
	for _, l := range v.lanes {
		width = max(width, len(Escape(l.host)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", v.phase, time.Since(v.start).Round(time.Second))
	for _, l := range v.lanes {
		fmt.Fprintf(&b, "%-*s  %s  %d/%d  %s\n", width, Escape(l.host), bar(l.ended, l.total, 20), l.ended, l.total, clip(l.status(), maxStatus))
	}
	io.WriteString(v.w, b.String())
	v.drawn = len(v.lanes) + 1
}

// status is what a lane says after its counts.
func (l *lane) status() string {
	switch {
	case len(l.failed) > 0 && len(l.running) == 0 && l.ended == l.total:
		return "failed (" + Escape(strings.Join(l.failed, ", ")) + ")"
	case len(l.running) > 0:
		s := Escape(strings.Join(l.running, ", "))
		if len(l.failed) > 0 {
			s += "; failed: " + Escape(strings.Join(l.failed, ", "))
		}
		return s
	case l.ended == l.total:
		return "ok"
	case len(l.failed) > 0:
		return "failed (" + Escape(strings.Join(l.failed, ", ")) + ")"
	}
	return "waiting"
}

// maxStatus bounds a lane's status, so that a lane stays one line on a
// terminal of 100 columns and the block's redraw (cursor up by its line
// count) stays right.
const maxStatus = 48

// clip cuts s to n runes, marking the cut with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// bar is a progress bar of width cells for done of total.
func bar(done, total, width int) string {
	fill := width
	if total > 0 {
		fill = done * width / total
	}
	return "[" + strings.Repeat("=", fill) + strings.Repeat("-", width-fill) + "]"
}
