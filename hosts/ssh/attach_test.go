package ssh

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAttachPassesStreamsAndExitStatus: `xenlab ssh` runs a command with
// the caller's stdin, stdout and stderr and returns its exit status, and a
// shell on a pseudo-terminal sees a terminal.
func TestAttachPassesStreamsAndExitStatus(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var out, errb bytes.Buffer
	code, err := c.Attach(ctx, "tr a-z A-Z; echo to-stderr >&2; exit 7", strings.NewReader("piped in\n"), &out, &errb, nil)
	if err != nil || code != 7 {
		t.Fatalf("exit %d, %v; want 7 and no error", code, err)
	}
	if out.String() != "PIPED IN\n" || errb.String() != "to-stderr\n" {
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}

	// On a pseudo-terminal: the command reports what it sees, then waits
	// for a line, which is typed only once its report has arrived (sshd
	// may drop what a terminal's program wrote just before it ended).
	typed, typing := io.Pipe()
	seen := &watchWriter{want: "33 101", seen: make(chan struct{})}
	go func() {
		select {
		case <-seen.seen:
			typing.Write([]byte("done\r"))
		case <-ctx.Done():
		}
	}()
	code, err = c.Attach(ctx, "test -t 0 && echo tty; stty size; read line; exit 6", typed, seen, seen, &PTY{Width: 101, Height: 33})
	typing.Close()
	if err != nil || code != 6 || !strings.Contains(seen.String(), "tty") || !strings.Contains(seen.String(), "33 101") {
		t.Fatalf("on a pty: exit %d, %v, output %q; want a terminal of 33 rows and 101 columns, then exit 6", code, err, seen.String())
	}

	out.Reset()
	code, err = c.Attach(ctx, "kill -TERM $$", nil, &out, &out, nil)
	if code != 128+15 || err == nil {
		t.Fatalf("a command killed by SIGTERM: exit %d, %v; want 143 and an error", code, err)
	}
}

// watchWriter keeps what is written and closes seen once want is in it.
type watchWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
