package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/term"

	"xenlab/provision"
	"xenlab/provision/render"
)

// IO is where a command reads and writes. Tests pass buffers; main passes
// the process's standard streams.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Terminal is true when stdin, stdout and stderr are all terminals: a
	// person is watching and can answer a question.
	Terminal bool
	// Color is true when diagnostics may use colour and source snippets.
	Color bool
	// Width of the terminal in columns (0 when unknown).
	Width uint
	// Progress is true when a run may draw a progress bar: stdout and
	// stderr are terminals and NO_COLOR, TERM=dumb and CI do not say
	// otherwise (render.Interactive decides).
	Progress bool
	// Clock is the time of the engine's runs: their events, each step's
	// time limit, backoff and heartbeats. nil is the system's clock; a
	// test passes a fake one to prove an hour's bound without the hour.
	Clock provision.Clock
}

// StdIO returns the process's standard streams, with Terminal and Color
// decided the way kind and cli/cli do: only when the streams are terminals,
// and no colour when NO_COLOR is set or TERM is dumb.
func StdIO() IO {
	tty := isTerminal(os.Stdin) && isTerminal(os.Stdout) && isTerminal(os.Stderr)
	io := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Terminal: tty,
		Progress: render.Interactive(os.Stdout, os.Stderr)}
	if isTerminal(os.Stderr) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" {
		io.Color = true
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && w > 0 {
			io.Width = uint(w)
		}
	}
	return io
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// stdout is the command's standard output. When its reader goes away
// (`xenlab up | head`) the first write that fails with EPIPE cancels the
// command's context with errStdoutClosed: the run stops and cleans up as
// for Ctrl-C, and Main exits 141 without a word, as a process SIGPIPE
// ended would. A broken pipe anywhere else (an SSH session, a plugin's
// pipe) is that connection's error, never a cancellation: main.go keeps
// SIGPIPE from ending the process, so these writes return EPIPE.
type stdout struct {
	w      io.Writer
	cancel context.CancelCauseFunc
	broken atomic.Bool
}

func (s *stdout) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil && errors.Is(err, syscall.EPIPE) && !s.broken.Swap(true) {
		s.cancel(errStdoutClosed)
	}
	return n, err
}

func (s *stdout) closed() bool { return s.broken.Load() }

// errStdoutClosed is the cancellation cause when stdout's reader went away.
var errStdoutClosed error = signalCause{syscall.SIGPIPE, "stdout was closed"}

// signalCause is a cancellation cause that came from a signal: a run it
// interrupts exits 128 plus the signal's number (provision.Signaled).
type signalCause struct {
	sig  syscall.Signal
	what string
}

func (s signalCause) Error() string     { return s.what }
func (s signalCause) Signal() os.Signal { return s.sig }

// SignalCause is the cancellation cause main.go gives the command's
// context for a signal: Ctrl-C (SIGINT) exits 130, SIGTERM 143.
func SignalCause(sig os.Signal) error {
	s, _ := sig.(syscall.Signal)
	switch s {
	case syscall.SIGINT:
		return signalCause{s, "Ctrl-C (SIGINT)"}
	case syscall.SIGTERM:
		return signalCause{s, "SIGTERM"}
	}
	return signalCause{s, sig.String()}
}

// readAll reads r to its end (for files given as "-"), at most limit
// bytes: /dev/zero on stdin is an error after limit bytes, not a process
// that fills the memory. It returns when ctx ends even while r blocks (a
// pipe whose writer waits), so Ctrl-C stops it; the read left waiting ends
// with the process.
func readAll(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(b)) > limit {
			err = fmt.Errorf("more than %d MiB on stdin, the most xenlab reads", limit>>20)
			b = nil
		}
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return nil, fmt.Errorf("reading stdin: %w (%w)", ctx.Err(), cause) // Is Canceled, As the signal
		}
		return nil, fmt.Errorf("reading stdin: %w", ctx.Err())
	}
}
