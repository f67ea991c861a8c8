package ssh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type streamedLine struct {
	text   string
	stderr bool
}

// The command prints, then blocks reading a fifo the test controls: the
// lines must reach the callback while the command is still running.
func TestStreamDeliversLinesBeforeTheCommandEnds(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	fifo := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	lines := make(chan streamedLine, 100)
	errc := make(chan error, 1)
	cmd := "echo one; echo two >&2; echo three; cat " + ShellQuote(fifo) + "; printf 'no newline'"
	go func() {
		errc <- c.Stream(context.Background(), cmd, func(line string, stderr bool) {
			lines <- streamedLine{line, stderr}
		})
	}()
	got := map[string]bool{}
	var stdoutOrder []string
	for len(got) < 3 {
		select {
		case l := <-lines:
			got[l.text] = l.stderr
			if !l.stderr {
				stdoutOrder = append(stdoutOrder, l.text)
			}
		case err := <-errc:
			t.Fatalf("command ended before the test released it: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatalf("lines did not arrive while the command runs; got %v", got)
		}
	}
	if got["one"] || !got["two"] || got["three"] || strings.Join(stdoutOrder, ",") != "one,three" {
		t.Fatalf("streams or order wrong: %v, stdout order %v", got, stdoutOrder)
	}
	// Release the command: opening the fifo for writing and closing it
	// gives cat its EOF.
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("released\n")
	_ = f.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Stream: %v", err)
	}
	close(lines)
	var rest []string
	for l := range lines {
		rest = append(rest, l.text)
	}
	if strings.Join(rest, ",") != "released,no newline" {
		t.Fatalf("lines after release: %q", rest)
	}
}

func TestStreamReportsFailureWithOutputTail(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	n := 0
	err := c.Stream(context.Background(), "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; echo boom >&2; exit 7",
		func(string, bool) { n++ })
	var runErr *RunError
	if !errors.As(err, &runErr) || runErr.ExitStatus != 7 {
		t.Fatalf("want RunError status 7, got %v", err)
	}
	if n != 13 {
		t.Errorf("callback saw %d lines, want 13", n)
	}
	msg := err.Error()
	if !strings.Contains(msg, "boom") || !strings.Contains(msg, "line12") || strings.Contains(msg, "line2\n") {
		t.Errorf("error should carry the last lines only:\n%s", msg)
	}
}

// Cancelling the context ends a long command and closes its session.
// OpenSSH refuses the "signal" request for root logins ("session
// signalling requires privilege separation"), so the test command ignores
// SIGTERM and proves the session was closed on the server instead: its
// output pipe breaks, its loop ends and it writes a marker.
func TestCancelEndsALongCommand(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	marker := filepath.Join(t.TempDir(), "ended")
	cmd := "trap '' TERM PIPE; echo started; while echo tick 2>/dev/null; do sleep 0.01; done; echo ended > " + ShellQuote(marker)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- c.Stream(ctx, cmd, func(line string, _ bool) {
			if line == "started" {
				close(started)
			}
		})
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("command ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("command did not start")
	}
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if !strings.Contains(err.Error(), "testhost") {
		t.Errorf("error does not name the host: %v", err)
	}
	// The server closed the command's output: the session is gone.
	waitForMarker(t, marker, "ended", "the remote command still runs: its session was not closed")
	// The connection is still good for the next command.
	if res, err := c.Run(context.Background(), "echo ok"); err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("after cancel: %v %q", err, res.Stdout)
	}
	if c.Handshakes() != 1 {
		t.Errorf("handshakes %d, want 1", c.Handshakes())
	}
}

// Where the server honours the "signal" request (OpenSSH does for non-root
// logins), cancelling delivers SIGTERM to the command: its trap runs.
func TestCancelSignalsTheCommand(t *testing.T) {
	s := startSSHD(t, sshdOptions{unprivileged: true})
	c := dialTest(t, s.config(t))
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "terminated")
	// SIGPIPE is ignored: when killpg also kills sleep, the shell reports
	// "Terminated" on its stderr, whose pipe the closed session broke;
	// unignored, that SIGPIPE would kill the shell before its TERM trap.
	cmd := "trap '' PIPE; trap 'echo term > " + ShellQuote(marker) + "; kill $! 2>/dev/null; exit 143' TERM; id -un; sleep 600 & wait"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Stream(ctx, cmd, func(line string, _ bool) {
			select {
			case started <- line:
			default:
			}
		})
	}()
	select {
	case who := <-started:
		if who != testUser {
			t.Fatalf("logged in as %q, want %s", who, testUser)
		}
	case err := <-errc:
		t.Fatalf("command ended early: %v", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	waitForMarker(t, marker, "term", "the command did not receive SIGTERM")
}

// waitForMarker waits (up to 10s) until the remote command has written want
// to the file marker, and fails the test with why if it does not.
func waitForMarker(t *testing.T, marker, want, why string) {
	t.Helper()
	for i := 0; ; i++ {
		if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == want {
			return
		}
		if i == 1000 {
			t.Fatal(why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
