package ssh

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestAttachPassesStreamsAndExitStatus: `xenlab ssh` runs a command with
// the caller's stdin, stdout and stderr and returns its exit status, and a
// shell on a pseudo-terminal sees a terminal.
func TestAttachPassesStreamsAndExitStatus(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()

	var out, errb bytes.Buffer
	code, err := c.Attach(ctx, "tr a-z A-Z; echo to-stderr >&2; exit 7", strings.NewReader("piped in\n"), &out, &errb, nil)
	if err != nil || code != 7 {
		t.Fatalf("exit %d, %v; want 7 and no error", code, err)
	}
	if out.String() != "PIPED IN\n" || errb.String() != "to-stderr\n" {
		t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
	}

	out.Reset()
	code, err = c.Attach(ctx, "test -t 0 && echo tty; stty size", nil, &out, &out, &PTY{Width: 101, Height: 33})
	if err != nil || code != 0 || !strings.Contains(out.String(), "tty") || !strings.Contains(out.String(), "33 101") {
		t.Fatalf("on a pty: exit %d, %v, output %q; want a terminal of 33 rows and 101 columns", code, err, out.String())
	}

	out.Reset()
	code, err = c.Attach(ctx, "kill -TERM $$", nil, &out, &out, nil)
	if code != 128+15 || err == nil {
		t.Fatalf("a command killed by SIGTERM: exit %d, %v; want 143 and an error", code, err)
	}
}
