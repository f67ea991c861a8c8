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
// An error that is transient ([IsTransient]) is retried; any other fails
// the step.
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

// Node is one step of a graph and what the engine needs to know to run
// it. These are plain values, set where the graph is built and read by the
// engine alone: wrapping a Step (to rename it, to give it other
// dependencies) cannot hide them, and composing graphs (one host, a fleet,
// reset, down) cannot drop them.
type Node struct {
	Step Step
	// Host is the host the step works on. The steps of several hosts in
	// one graph make a fleet: the engine bounds parallelism per host
	// ([Options.Parallel]) and the hosts at work at once
	// ([Options.MaxHosts]), a failed step skips only its own host's
	// dependents, and reports group the steps by host. A step's name is
	// unique among its host's steps, and its dependencies are steps of its
	// own host with those names. The engine names the host in the step's
	// errors, events and results; a step's name never carries it.
	Host string
	// Timeout limits each attempt of the step's Check, Apply or Destroy:
	// 0 is [Options.StepTimeout], a negative value no limit.
	Timeout time.Duration
	// Attempts bounds the attempts for errors marked transient
	// ([IsTransient]): 0 is [Options.MaxAttempts].
	Attempts int
	// ReadOnly is a step whose Apply only reads and checks the host
	// (preflight, verify): it runs on every Apply, but a plan does not
	// count it as a change pending.
	ReadOnly bool
}

// Nodes makes a graph of steps that need nothing but the engine's
// defaults: one unnamed host, the options' time limit and attempts.
func Nodes(steps ...Step) []Node {
	nodes := make([]Node, len(steps))
	for i, s := range steps {
		nodes[i] = Node{Step: s}
	}
	return nodes
}

// Label is how people are shown a step of host: "<host>/<step>", or the
// step's name alone when host is "". It is for display only; nothing
// parses it back (events and results carry the host on its own).
func Label(host, step string) string {
	if host == "" {
		return step
	}
	return host + "/" + step
}

// Temporary is implemented by errors that know whether trying again may
// succeed, such as xapi's (xenlab/hosts/xapi: OTHER_OPERATION_IN_PROGRESS,
// a reset connection on a read): the only way an error is transient. The
// error itself says so, where the failure is understood, rather than a
// mark a caller might forget. Packages that must not import provision
// implement it with a method of that name.
type Temporary interface {
	error
	Transient() bool
}

// IsTransient reports whether err, or an error it wraps, says it is worth
// trying again ([Temporary]). The first [Temporary] in the chain decides: a
// wrapper that knows better answers first.
func IsTransient(err error) bool {
	var tmp Temporary
	return errors.As(err, &tmp) && tmp.Transient()
}
