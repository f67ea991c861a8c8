package provision

import (
	"fmt"
	"time"
)

// OnError is the policy for the host after a failed or interrupted Apply.
type OnError string

// Failure policies.
const (
	// Retain leaves the host as it is, for debugging (the default).
	Retain OnError = "retain"
	// Cleanup destroys, newest first, the steps this run applied.
	Cleanup OnError = "cleanup"
)

// ParseOnError parses an --on-error value. An unknown value is a
// [*UsageError].
func ParseOnError(s string) (OnError, error) {
	switch OnError(s) {
	case "", Retain:
		return Retain, nil
	case Cleanup:
		return Cleanup, nil
	}
	return "", &UsageError{Err: fmt.Errorf("--on-error=%q: want %q or %q", s, Retain, Cleanup)}
}

// Defaults used for zero Options fields.
const (
	DefaultParallel    = 4
	DefaultMaxAttempts = 3
	DefaultHeartbeat   = 30 * time.Second
)

// Options tune an Engine. The zero value is usable.
type Options struct {
	// Parallel is how many independent steps of one host may run at once
	// (0: DefaultParallel; 1: strictly one after the other). In a fleet
	// (steps of several hosts, see [Node.Host]) each host has this many.
	Parallel int
	// MaxHosts is how many hosts of a fleet may be at work at once
	// (0: all of them). A host is at work from its first step's start
	// until every one of its steps has ended.
	MaxHosts int
	// StepTimeout limits each attempt of a step's Check, Apply or Destroy;
	// a node's own Timeout overrides it. 0 means no limit.
	StepTimeout time.Duration
	// MaxAttempts bounds the attempts for transient errors
	// (0: DefaultMaxAttempts); a node's own Attempts overrides it.
	MaxAttempts int
	// Backoff returns the delay before attempt+1 after attempt failed
	// (attempt counts from 1). nil means ExponentialBackoff(time.Second, 30*time.Second).
	Backoff func(attempt int) time.Duration
	// OnError is the failure policy ("" means Retain).
	OnError OnError
	// Renderer receives the run's events (nil: none). Use Multi for several.
	Renderer Renderer
	// Heartbeat is how often a heartbeat event is emitted for a running step
	// that wrote no output in the last interval (0: DefaultHeartbeat;
	// negative: never).
	Heartbeat time.Duration
	// Clock is the time of events, durations, time limits, backoff and
	// heartbeats (nil: SystemClock).
	Clock Clock
}

// ExponentialBackoff returns a backoff that waits base after the first
// attempt and doubles each time, never more than max.
func ExponentialBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

func (o Options) withDefaults() (Options, error) {
	if o.Parallel < 0 {
		return o, &UsageError{Err: fmt.Errorf("parallel must be at least 1, got %d", o.Parallel)}
	}
	if o.Parallel == 0 {
		o.Parallel = DefaultParallel
	}
	if o.MaxHosts < 0 {
		return o, &UsageError{Err: fmt.Errorf("max hosts must be at least 1 (or 0: all), got %d", o.MaxHosts)}
	}
	if o.MaxAttempts < 0 {
		return o, &UsageError{Err: fmt.Errorf("max attempts must be at least 1, got %d", o.MaxAttempts)}
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff(time.Second, 30*time.Second)
	}
	policy, err := ParseOnError(string(o.OnError))
	if err != nil {
		return o, err
	}
	o.OnError = policy
	if o.Renderer == nil {
		o.Renderer = Multi()
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	return o, nil
}
