package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
)

// PTY asks for a pseudo-terminal for an attached session, as `ssh -t`
// does: a person types into it.
type PTY struct {
	Term          string // $TERM of the local terminal ("xterm" when empty)
	Width, Height int    // in characters
	// Resize, when set, delivers the local terminal's new size
	// (SIGWINCH); the session follows it until it ends.
	Resize <-chan [2]int
}

// Attach runs cmd on the host with the caller's streams attached, as
// `ssh host -- cmd` does: cmd goes to the remote user's shell as it is
// ("" is a login shell), stdin is copied until EOF, stdout and stderr as
// they come. With pty the session gets a pseudo-terminal (stderr then
// arrives merged into stdout, as with OpenSSH). It returns the remote exit
// status; a command killed by a signal returns 128 plus the signal's number
// when known (else 255) and a *RunError. Cancelling ctx closes the session.
func (c *Client) Attach(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer, pty *PTY) (int, error) {
	s, _, err := c.openSession(ctx)
	if err != nil {
		return 255, err
	}
	defer s.Close()
	if stdout != nil && sameWriter(stdout, stderr) {
		// One writer for both streams, which the session copies in two
		// goroutines: one lock keeps the writes apart, as os/exec does.
		w := &lockedWriter{w: stdout}
		stdout, stderr = w, w
	}
	s.Stdout, s.Stderr = stdout, stderr
	if pty != nil {
		term := pty.Term
		if term == "" {
			term = "xterm"
		}
		if err := s.RequestPty(term, pty.Height, pty.Width, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
			return 255, &NoPTYError{Host: c.cfg.Host, Err: err}
		}
	}
	// Not s.Stdin: its copy would block the end of the session on a read
	// from a terminal that nobody types into. EOF on stdin closes the
	// remote stdin; with no stdin, a command sees EOF at once, but a
	// pseudo-terminal is left open (OpenSSH's sshd hangs up a terminal
	// whose input ended, and output not yet read is lost).
	in, err := s.StdinPipe()
	if err != nil {
		return 255, fmt.Errorf("ssh %s: stdin: %w", c.cfg.Host, err)
	}
	switch {
	case stdin != nil:
		go func() {
			io.Copy(in, stdin)
			in.Close()
		}()
	case pty == nil:
		in.Close()
	}
	if cmd == "" {
		err = s.Shell()
	} else {
		err = s.Start(cmd)
	}
	if err != nil {
		return 255, fmt.Errorf("ssh %s: start %q: %w", c.cfg.Host, cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	var resize <-chan [2]int
	if pty != nil {
		resize = pty.Resize
	}
	for {
		select {
		case err = <-done:
			return attachStatus(c.cfg.Host, cmd, err)
		case wh := <-resize:
			s.WindowChange(wh[1], wh[0])
		case <-ctx.Done():
			_ = s.Signal(ssh.SIGTERM)
			_ = s.Close()
			return 255, fmt.Errorf("ssh %s: %q cancelled: %w", c.cfg.Host, cmd, ctx.Err())
		}
	}
}

// signalNumbers are the signals a remote command is commonly killed by
// (RFC 4254 names them without "SIG"), for 128+n as a shell reports it.
var signalNumbers = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
	"SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15, "USR1": 10, "USR2": 12}

// attachStatus turns a session's end into its exit status.
func attachStatus(host, cmd string, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if sig := ee.Signal(); sig != "" {
			code := 255
			if n, ok := signalNumbers[sig]; ok {
				code = 128 + n
			}
			return code, &RunError{Host: host, Command: cmd, ExitStatus: -1, Signal: sig, Inner: err}
		}
		return ee.ExitStatus(), nil
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return 255, fmt.Errorf("ssh %s: the session ended without an exit status", host)
	}
	return 255, fmt.Errorf("ssh %s: %w", host, err)
}

// NoPTYError is Attach's error when the server refused a pseudo-terminal:
// nothing ran, and the caller may attach again without one (as ssh(1)
// goes on after "PTY allocation request failed").
type NoPTYError struct {
	Host string
	Err  error
}

func (e *NoPTYError) Error() string {
	return fmt.Sprintf("ssh %s: the server refused a pseudo-terminal: %v", e.Host, e.Err)
}

func (e *NoPTYError) Unwrap() error { return e.Err }

// lockedWriter serialises the writes of two streams into one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// sameWriter reports whether a and b are the same writer; writers whose
// dynamic type cannot be compared are not.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
