package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Result is a finished command's output and exit status.
type Result struct {
	Stdout, Stderr []byte
	ExitStatus     int
}

// RunOption adjusts one command.
type RunOption func(*runOptions)

type runOptions struct {
	stdin      io.Reader
	idempotent bool
}

// WithStdin feeds r to the command's standard input, read until EOF; use
// it for secrets rather than the command line.
func WithStdin(r io.Reader) RunOption { return func(o *runOptions) { o.stdin = r } }

// Idempotent lets the command be run again, once, on a new connection if
// the connection is lost while it runs. With WithStdin, r must be an
// io.Seeker (it is rewound). A streamed command's lines are then delivered
// again from the start.
func Idempotent() RunOption { return func(o *runOptions) { o.idempotent = true } }

// Run runs cmd through the remote user's shell and returns its output.
// A non-zero exit returns the Result and a *RunError. Cancelling ctx asks
// the server to send SIGTERM to the command (OpenSSH refuses this for root
// logins), closes its session (the command then loses its output pipes)
// and returns an error wrapping ctx.Err().
func (c *Client) Run(ctx context.Context, cmd string, opts ...RunOption) (Result, error) {
	var stdout, stderr bytes.Buffer
	reset := func() { stdout.Reset(); stderr.Reset() }
	status, err := c.execRetry(ctx, cmd, opts, &stdout, &stderr, reset, func() ([]byte, []byte) {
		return stdout.Bytes(), stderr.Bytes()
	})
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitStatus: status}
	return res, err
}

// Stream runs cmd and calls fn with each line of its output as it arrives
// (for long commands such as stack.sh). It returns nil when the command
// exits 0, else a *RunError carrying the tail of the output, or an error
// wrapping ctx.Err() on cancellation.
func (c *Client) Stream(ctx context.Context, cmd string, fn LineFunc, opts ...RunOption) error {
	var mu sync.Mutex
	var stdout, stderr *lineWriter
	reset := func() {
		stdout = &lineWriter{mu: &mu, fn: fn}
		stderr = &lineWriter{mu: &mu, fn: fn, stderr: true}
	}
	reset()
	_, err := c.execRetry(ctx, cmd, opts, writerFunc(func(p []byte) (int, error) { return stdout.Write(p) }),
		writerFunc(func(p []byte) (int, error) { return stderr.Write(p) }), reset,
		func() ([]byte, []byte) {
			stdout.flush()
			stderr.flush()
			return stdout.tail.Bytes(), stderr.tail.Bytes()
		})
	if ctx.Err() == nil {
		stdout.flush()
		stderr.flush()
	}
	return err
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// execRetry runs the command once, and once more on a new connection when
// it was lost mid-command and the caller said the command is idempotent.
// reset clears the output before a re-run; outputs returns what the
// command wrote, after it ended.
func (c *Client) execRetry(ctx context.Context, cmd string, opts []RunOption, stdout, stderr io.Writer,
	reset func(), outputs func() (stdout, stderr []byte)) (int, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	status, lost, err := c.exec(ctx, cmd, o, stdout, stderr)
	if lost && o.idempotent && ctx.Err() == nil && rewind(o.stdin) {
		c.cfg.logf("ssh %s: connection lost during %q, running it again", c.cfg.Host, cmd)
		reset()
		status, _, err = c.exec(ctx, cmd, o, stdout, stderr)
	}
	if err == nil {
		return status, nil
	}
	var runErr *RunError
	if errors.As(err, &runErr) {
		out, errOut := outputs()
		runErr.Stdout, runErr.Stderr = tail(out, tailBytes), tail(errOut, tailBytes)
	}
	return status, err
}

// rewind readies a command's stdin for a second run: no stdin needs
// nothing, an io.Seeker goes back to its start, anything else cannot be
// read again.
func rewind(stdin io.Reader) bool {
	if stdin == nil {
		return true
	}
	s, ok := stdin.(io.Seeker)
	if !ok {
		return false
	}
	_, err := s.Seek(0, io.SeekStart)
	return err == nil
}

// exec runs cmd on one session. lost reports that the connection died
// before the command reported its exit status.
func (c *Client) exec(ctx context.Context, cmd string, o runOptions, stdout, stderr io.Writer) (status int, lost bool, err error) {
	if err := ctx.Err(); err != nil {
		return -1, false, fmt.Errorf("ssh %s: %q not started: %w", c.cfg.Host, cmd, err)
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return -1, false, fmt.Errorf("ssh %s: %q: waiting for a session slot: %w", c.cfg.Host, cmd, ctx.Err())
	}
	defer func() { <-c.slots }()

	s, k, err := c.openSession(ctx)
	if err != nil {
		return -1, false, err
	}
	defer s.Close()
	outW := &sealWriter{w: stdout}
	errW := &sealWriter{w: stderr}
	s.Stdout, s.Stderr, s.Stdin = outW, errW, o.stdin
	if err := s.Start(cmd); err != nil {
		return -1, false, fmt.Errorf("ssh %s: start %q: %w", c.cfg.Host, cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		// Not every server honours "signal"; closing the session is what
		// ends it for sure. Output arriving after this is dropped.
		_ = s.Signal(ssh.SIGTERM)
		_ = s.Close()
		outW.seal()
		errW.seal()
		return -1, false, fmt.Errorf("ssh %s: %q cancelled: %w", c.cfg.Host, cmd, ctx.Err())
	}
	if err == nil {
		return 0, false, nil
	}
	var exitErr *ssh.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitStatus(), false, &RunError{
			Host: c.cfg.Host, Command: cmd, ExitStatus: exitErr.ExitStatus(), Signal: exitErr.Signal(), Inner: err,
		}
	}
	// No exit status: the connection (or at least the channel) is gone.
	if !k.alive(c.cfg.DialTimeout) {
		k.markDead()
		lost = true
	}
	return -1, lost, &RunError{
		Host: c.cfg.Host, Command: cmd, ExitStatus: -1, Inner: fmt.Errorf("connection lost: %w", err),
	}
}
