package ssh

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func dialTest(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunReturnsOutputAndExitStatus(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()

	res, err := c.Run(ctx, "echo out; echo err >&2")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitStatus != 0 {
		t.Fatalf("got %+v", res)
	}

	cmd := "echo partial output; echo 'ovs-vsctl: no bridge named xapi9' >&2; exit 3"
	res, err = c.Run(ctx, cmd)
	var runErr *RunError
	if !errors.As(err, &runErr) {
		t.Fatalf("want *RunError, got %T %v", err, err)
	}
	if res.ExitStatus != 3 || runErr.ExitStatus != 3 || runErr.Host != "testhost" || runErr.Command != cmd {
		t.Fatalf("got result %+v, error %+v", res, runErr)
	}
	if string(runErr.Stdout) != "partial output\n" || string(runErr.Stderr) != "ovs-vsctl: no bridge named xapi9\n" {
		t.Fatalf("tails: %q %q", runErr.Stdout, runErr.Stderr)
	}
	msg := err.Error()
	for _, want := range []string{"testhost", cmd, "status 3", "no bridge named xapi9", "partial output"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestRunFeedsStdin(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	res, err := c.Run(context.Background(), "tr a-z A-Z", WithStdin(strings.NewReader("secret-free input\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "SECRET-FREE INPUT\n" {
		t.Fatalf("stdout %q", got)
	}
}

// TestRunEndsWithTheCommandNotWithStdin: a command that does not read its
// stdin ends the call when it exits, even if the stdin reader never
// reaches EOF (x/crypto's Session.Wait would wait for it).
func TestRunEndsWithTheCommandNotWithStdin(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	pr, pw := io.Pipe() // never written to, closed only after the test
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Run(ctx, "echo done", WithStdin(pr))
	if err != nil {
		t.Fatalf("Run waited for stdin instead of the command: %v", err)
	}
	if got := string(res.Stdout); got != "done\n" {
		t.Fatalf("stdout %q", got)
	}
}
