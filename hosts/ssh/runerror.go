package ssh

import (
	"bytes"
	"fmt"
	"strings"
)

// tailBytes is how much of each output stream a RunError keeps.
const tailBytes = 4096

// tailLines is how many lines of each stream RunError.Error prints.
const tailLines = 10

// RunError is a remote command that failed: it exited non-zero, was killed
// by a signal, or its connection was lost before it reported an exit
// status (ExitStatus -1, Inner says why). Use errors.As to get it.
type RunError struct {
	Host    string
	Command string
	// ExitStatus is the remote exit status, -1 when there is none.
	ExitStatus int
	// Signal is the signal name (e.g. "TERM") when the command was killed.
	Signal string
	// Stdout and Stderr are the last bytes (at most 4 KiB) of each stream.
	Stdout, Stderr []byte
	// Inner is the underlying error (an *ssh.ExitError, or a lost connection).
	Inner error
}

func (e *RunError) Error() string {
	var b strings.Builder
	cmd := e.Command
	if len(cmd) > 200 {
		cmd = cmd[:200] + "..."
	}
	fmt.Fprintf(&b, "ssh %s: command %q ", e.Host, cmd)
	switch {
	case e.Signal != "":
		fmt.Fprintf(&b, "was killed by signal %s", e.Signal)
	case e.ExitStatus >= 0:
		fmt.Fprintf(&b, "exited with status %d", e.ExitStatus)
	default:
		fmt.Fprintf(&b, "ended without an exit status: %v", e.Inner)
	}
	writeTail(&b, "stderr", e.Stderr)
	writeTail(&b, "stdout", e.Stdout)
	return b.String()
}

// Unwrap returns the inner error.
func (e *RunError) Unwrap() error { return e.Inner }

// writeTail appends the last tailLines lines of out, indented.
func writeTail(b *strings.Builder, name string, out []byte) {
	out = bytes.TrimRight(out, "\r\n")
	if len(out) == 0 {
		return
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	fmt.Fprintf(b, "\n  %s (last %d lines):", name, len(lines))
	for _, l := range lines {
		b.WriteString("\n    ")
		b.WriteString(strings.TrimRight(l, "\r"))
	}
}

// tail returns a copy of the last n bytes of p.
func tail(p []byte, n int) []byte {
	if len(p) > n {
		p = p[len(p)-n:]
	}
	return append([]byte(nil), p...)
}

// tailBuffer keeps the last tailBytes written to it.
type tailBuffer struct {
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return tail(t.buf, tailBytes) }
