package provision

import (
	"context"
	"errors"
	"time"
)

// Step is one unit of lab work. Implementations live in other packages, one
// small file each; the engine calls them from several goroutines, but never
// the same step concurrently with itself. Every method must return promptly
// once ctx is done: that is how Ctrl-C and time limits stop a running step.
// An error wrapped with [Transient] is retried; any other fails the step.
type Step interface {
	// Name is unique within a graph, e.g. "networks".
	Name() string
	// Deps names the steps whose work must be done before this one runs.
	Deps() []string
	// Check reports whether this step's work is already done on the host.
	// It only reads.
	Check(ctx context.Context) (done bool, err error)
	// Apply does the step's work, writing progress lines to out.
	Apply(ctx context.Context, out Output) error
	// Destroy undoes only what this lab owns. It must be idempotent: calling
	// it when there is nothing to undo succeeds.
	Destroy(ctx context.Context, out Output) error
}

// Output receives a step's progress lines; each becomes an output event and
// the last lines are kept in the step's report (its output tail).
type Output interface {
	Line(format string, args ...any)
}

// ReadOnly is an optional interface for a step whose Apply only reads and
// checks the host (preflight): it runs on every up, but a plan does not
// count it as a change pending.
type ReadOnly interface {
	ReadOnly() bool
}

func isReadOnly(s Step) bool {
	r, ok := s.(ReadOnly)
	return ok && r.ReadOnly()
}

// Hosted is an optional interface for a step that belongs to one host of
// a fleet (a lab of several hosts). The engine bounds parallelism per
// host ([Options.Parallel]) and bounds the hosts at work at once
// ([Options.MaxHosts]); a failed step skips only its own host's
// dependents; reports group the steps by host. A step may depend only on
// steps of its own host. Steps that are not Hosted (or return "") form one
// group, as a single host's steps do.
type Hosted interface {
	Host() string
}

func hostOf(s Step) string {
	if h, ok := s.(Hosted); ok {
		return h.Host()
	}
	return ""
}

// Timeouter is an optional interface for a step that needs a time limit other
// than [Options.StepTimeout] for each attempt of Check, Apply or Destroy.
// A zero or negative value means no limit.
type Timeouter interface {
	Timeout() time.Duration
}

// Attempter is an optional interface for a step that allows a number of
// attempts other than [Options.MaxAttempts] for errors marked [Transient].
type Attempter interface {
	MaxAttempts() int
}

// transientError marks its wrapped error as worth retrying.
type transientError struct{ err error }

func (t *transientError) Error() string { return t.err.Error() }
func (t *transientError) Unwrap() error { return t.err }

// Transient marks err as retryable: the engine retries the step's Check,
// Apply or Destroy with exponential backoff, up to its attempt limit.
// Transient(nil) is nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// IsTransient reports whether err, or any error it wraps, was marked with
// [Transient].
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}
