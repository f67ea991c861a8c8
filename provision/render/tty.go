package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"xenlab/provision"
)

// TTY is the terminal view: one progress bar for the phase (steps finished
// of total, the steps running now, elapsed time) with status lines and step
// output printed above it, so the bar is never broken by them. A fleet's
// phase gets a lane per host instead (see BeginLanes). The elapsed
// time is refreshed every second while a phase runs. Close writes the timing
// table. Use it only when [Interactive] says so.
type TTY struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *progressbar.ProgressBar
	ended   bool // EndProgress was called
	phase   provision.Phase
	running []string
	stop    chan struct{}
	stopped sync.WaitGroup
	refresh time.Duration
	lanes   *lanes // a fleet's phase: a lane per host instead of the bar
}

// NewTTY returns a terminal view writing to w (normally stderr).
func NewTTY(w io.Writer) *TTY { return &TTY{w: w, refresh: time.Second} }

// Begin starts a bar for the phase's steps; it implements
// provision.PhaseStarter.
func (t *TTY) Begin(phase provision.Phase, steps []string) {
	t.endBar()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = phase
	t.running = nil
	t.bar = progressbar.NewOptions(len(steps),
		progressbar.OptionSetWriter(t.w),
		progressbar.OptionSetDescription(t.description()),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetWidth(24),
	)
	_ = t.bar.RenderBlank()
	t.stop = make(chan struct{})
	t.stopped.Add(1)
	go t.tick(t.bar, t.stop)
}

// BeginLanes starts a fleet's phase: a lane per host, each with its own
// bar and running steps; it implements provision.LaneStarter.
func (t *TTY) BeginLanes(phase provision.Phase, ls []provision.Lane) {
	t.endBar()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = phase
	t.lanes = newLanes(t.w, phase, ls)
	t.lanes.draw()
	t.stop = make(chan struct{})
	t.stopped.Add(1)
	go t.tick(nil, t.stop)
}

func (t *TTY) tick(bar *progressbar.ProgressBar, stop <-chan struct{}) {
	defer t.stopped.Done()
	tk := time.NewTicker(t.refresh)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			t.mu.Lock()
			if t.lanes != nil {
				t.lanes.draw()
			} else {
				_ = bar.RenderBlank()
			}
			t.mu.Unlock()
		}
	}
}

// endBar stops the refresh and leaves the bar's last state on its own line.
func (t *TTY) endBar() {
	t.mu.Lock()
	stop := t.stop
	t.stop = nil
	t.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	t.stopped.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lanes != nil {
		t.lanes.draw() // the lanes' last state stays on the screen
		t.lanes = nil
		return
	}
	_ = t.bar.RenderBlank()
	_ = t.bar.Exit()
	fmt.Fprintln(t.w)
	t.bar = nil
}

func (t *TTY) description() string {
	d := string(t.phase)
	if len(t.running) > 0 {
		d += ": " + Escape(strings.Join(t.running, ", "))
	}
	return d
}

// Event updates the bar, printing status and output lines above it.
func (t *TTY) Event(ev provision.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lanes != nil {
		t.lanes.event(ev)
		return
	}
	if t.bar == nil {
		// No Begin: print lines only.
		fmt.Fprintln(t.w, statusLine(ev))
		return
	}
	switch ev.Kind {
	case provision.EventStarted:
		t.running = append(t.running, ev.Label())
		t.bar.Describe(t.description())
		return
	case provision.EventHeartbeat:
		return
	case provision.EventDone, provision.EventUpToDate, provision.EventFailed,
		provision.EventSkipped, provision.EventCanceled:
		if i := slices.Index(t.running, ev.Label()); i >= 0 {
			t.running = slices.Delete(t.running, i, i+1)
		}
		t.bar.Describe(t.description())
		_, _ = progressbar.Bprintln(t.bar, statusLine(ev))
		_ = t.bar.Add(1)
		return
	}
	_, _ = progressbar.Bprintln(t.bar, statusLine(ev))
	_ = t.bar.RenderBlank()
}

// statusLine is an event as one line under the bar, marked like kind's
// status: ✓ done, ✗ failed, - skipped; its strings are escaped (see Escape).
func statusLine(ev provision.Event) string {
	mark := " "
	switch ev.Kind {
	case provision.EventDone, provision.EventUpToDate:
		mark = "✓"
	case provision.EventFailed, provision.EventCanceled:
		mark = "✗"
	case provision.EventSkipped:
		mark = "-"
	case provision.EventRetry:
		mark = "↻"
	case provision.EventOutput:
		return "    " + Escape(ev.Label()) + " | " + Escape(ev.Line)
	}
	return mark + " " + describe(ev)
}

// EndProgress ends the bar (or the lanes), leaving its last state on its
// own line, so that what the caller writes next starts on a line of its
// own; Close then writes the table. A second call does nothing.
func (t *TTY) EndProgress() {
	t.endBar()
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
}

// Close ends the bar and writes the timing table.
func (t *TTY) Close(rep *provision.Report) error {
	t.endBar()
	t.mu.Lock()
	defer t.mu.Unlock()
	if rep == nil {
		return nil
	}
	if t.ended { // lines were written under the bar: a blank line, as Plain's
		fmt.Fprintln(t.w)
	}
	return rep.WriteTable(t.w)
}
