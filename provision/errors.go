package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// StepError is the error of one step that failed. Op says what failed:
// "check", "apply" or "destroy". Its message names the step's host
// ("host xs2: step agents: apply: ..."), which the engine knows from the
// graph.
type StepError struct {
	Step string
	Host string // the step's host (see Node.Host); "" when the graph names none
	Op   string
	Err  error
}

func (e *StepError) Error() string {
	who := "step " + e.Step
	if e.Host != "" {
		who = "host " + e.Host + ": " + who
	}
	if e.Op == "" {
		return fmt.Sprintf("%s: %v", who, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", who, e.Op, e.Err)
}

// Unwrap returns the step's own error.
func (e *StepError) Unwrap() error { return e.Err }

// ConfigError is implemented by errors that mean the user's input (the lab
// file, flags) is wrong rather than the host; [ExitCode] maps them to 2.
// Packages that must not import provision (such as localrc) can implement it
// with a method of that name and no arguments.
type ConfigError interface {
	error
	ConfigError()
}

// UsageError wraps a command-line usage or configuration error so that
// [ExitCode] maps it to 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// ConfigError marks UsageError as a [ConfigError].
func (e *UsageError) ConfigError() {}

// Exit statuses returned by [ExitCode].
const (
	ExitOK          = 0   // success
	ExitFailure     = 1   // a step failed, or any other error
	ExitUsage       = 2   // usage or configuration error
	ExitInterrupted = 130 // interrupted (context canceled, e.g. Ctrl-C)
)

// Signaled is implemented by the cause of a cancellation that came from a
// signal (see [context.WithCancelCause]): an interrupted run then exits
// 128 plus the signal's number, as a shell reports a process the signal
// ended (130 for SIGINT, 143 for SIGTERM, 141 for SIGPIPE).
type Signaled interface {
	error
	Signal() os.Signal
}

// InterruptedError is the error of a run (or a wait) that ended because its
// context did. It wraps both the context's error, so errors.Is(err,
// context.Canceled) holds, and its cause, so a [Signaled] cause decides the
// exit status. Its message names the cause, never "context canceled".
type InterruptedError struct {
	What  string // what was interrupted: a phase such as "apply"
	Cause error  // context.Cause; nil or the same as Err when there was none
	Err   error  // ctx.Err()
}

func (e *InterruptedError) Error() string {
	if e.Cause != nil && e.Cause != e.Err {
		return fmt.Sprintf("%s interrupted: %v", e.What, e.Cause)
	}
	return e.What + " interrupted"
}

// Unwrap returns the context's error and the cause.
func (e *InterruptedError) Unwrap() []error {
	if e.Cause != nil && e.Cause != e.Err {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// Interrupted returns the [*InterruptedError] for what, interrupted because
// ctx ended.
func Interrupted(ctx context.Context, what string) error {
	return &InterruptedError{What: what, Cause: context.Cause(ctx), Err: ctx.Err()}
}

// ExitCode maps a run's error to the CLI's exit status: nil is 0, an error
// that is (or wraps) [context.Canceled] is 130, or 128+n when it wraps a
// [Signaled] cause of signal n; one that wraps a [ConfigError] (such as
// [*UsageError]) is 2, and anything else, including every [*StepError],
// is 1.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, context.Canceled) {
		var sig Signaled
		if errors.As(err, &sig) {
			if n, ok := sig.Signal().(syscall.Signal); ok {
				return 128 + int(n)
			}
		}
		return ExitInterrupted
	}
	var ce ConfigError
	if errors.As(err, &ce) {
		return ExitUsage
	}
	return ExitFailure
}
