package render

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"xenlab/provision"
)

// TestTTYEndProgressPutsLinesUnderTheBar: what a command writes between
// the end of a run and its table (xenlab's "host sim: N xapi round trips"
// line) starts on a line of its own, not on the bar's last line, and the
// table follows a blank line, as Plain's does.
func TestTTYEndProgressPutsLinesUnderTheBar(t *testing.T) {
	var out lockedBuffer
	tty := NewTTY(&out)
	tty.refresh = time.Millisecond
	e, err := provision.New(failingLab(), provision.Options{Renderer: tty, Parallel: 1, Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := e.Apply(context.Background())
	tty.EndProgress()
	fmt.Fprintln(&out, "host sim: 6 xapi round trips, 1 ssh handshake")
	tty.EndProgress() // a second call does nothing
	if err := tty.Close(rep); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "\nhost sim: 6 xapi round trips, 1 ssh handshake\n\nSTEP") {
		t.Errorf("the line is not on its own line with the table after a blank line:\n%q", s)
	}
	if strings.Count(s, "host sim:") != 1 || strings.Count(s, "STEP") != 1 {
		t.Errorf("output repeated:\n%s", s)
	}
}
