package provision

import (
	"context"
	"errors"
	"fmt"
)

// StepError is the error of one step that failed. Op says what failed:
// "check", "apply" or "destroy".
type StepError struct {
	Step string
	Op   string
	Err  error
}

func (e *StepError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("step %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("step %s: %s: %v", e.Step, e.Op, e.Err)
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

// ExitCode maps a run's error to the CLI's exit status: nil is 0, an error
// that is (or wraps) [context.Canceled] is 130, one that wraps a
// [ConfigError] (such as [*UsageError]) is 2, and anything else, including
// every [*StepError], is 1.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	var ce ConfigError
	if errors.As(err, &ce) {
		return ExitUsage
	}
	return ExitFailure
}
