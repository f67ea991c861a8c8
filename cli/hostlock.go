package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/lock"
	"xenlab/hosts/xapi"
)

// hostLocks are the host locks of a run (up, reset, down): each host's is
// taken when a step first uses the host (hosts.Options.Gate), renewed
// while the run lives, and released by openedLab.close, also after Ctrl-C
// or SIGTERM. Read-only commands (plan, status, validate, logs) take none.
// See docs/cli.md, "Host locks".
type hostLocks struct {
	io      IO
	lab     string
	command string
	noWait  bool
	expiry  time.Duration

	mu     sync.Mutex
	held   []*lock.Lock
	onLost context.CancelCauseFunc // the run's, set by runSteps
}

// gate takes h's lock; it is hosts.Options.Gate.
func (hl *hostLocks) gate(ctx context.Context, h *hosts.Host, c *xapi.Client) error {
	l, err := lock.Acquire(ctx, c, lock.Options{
		Host: h.Name(), Lab: hl.lab, Command: hl.command, NoWait: hl.noWait, Expiry: hl.expiry,
		Logf: func(format string, args ...any) { fmt.Fprintf(hl.io.Err, "xenlab: "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	hl.mu.Lock()
	hl.held = append(hl.held, l)
	hl.mu.Unlock()
	go func() {
		select {
		case <-l.Lost():
			hl.mu.Lock()
			onLost := hl.onLost
			hl.mu.Unlock()
			if onLost != nil {
				onLost(fmt.Errorf("host %s: %w", h.Name(), lock.ErrLost))
			}
		case <-l.Released():
		}
	}()
	return nil
}

// lost sets what ends the run when a lock is lost.
func (hl *hostLocks) lost(cancel context.CancelCauseFunc) {
	hl.mu.Lock()
	hl.onLost = cancel
	hl.mu.Unlock()
}

// release releases every lock taken, on its own time bound (the run's
// context may be canceled already), within which lock.Release tries again
// while the host does not answer.
func (hl *hostLocks) release() {
	hl.mu.Lock()
	held := hl.held
	hl.held = nil
	hl.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), defaultCloseTimeout)
	defer cancel()
	for _, l := range held {
		if err := l.Release(ctx); err != nil {
			fmt.Fprintf(hl.io.Err, "xenlab: %v (the next run on this machine takes it over at once; "+
				"from elsewhere it waits until the claim expires at %s)\n", err, l.Holder().Expires.UTC().Format("15:04:05 UTC"))
		}
	}
}
