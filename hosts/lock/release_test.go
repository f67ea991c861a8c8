package lock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xenlab/hosts/xapi"
)

// gatedAPI lets a test stop a renewal's add in flight, or lose the
// answers of calls, on top of the simulated xapi.
type gatedAPI struct {
	*simHost
	// onRenew, when set, runs before a renewal's add (a key not ending
	// in ".0") reaches xapi.
	onRenew func()
	// loseAdd makes a renewal's add reach xapi and its answer get lost.
	loseAdd atomic.Bool
	// failRemoves is how many removals fail as if the host did not
	// answer, before they reach xapi; removes counts every attempt.
	failRemoves atomic.Int32
	removes     atomic.Int32
}

func (g *gatedAPI) PoolAddToOtherConfig(ctx context.Context, pool xapi.Ref, key, value string) error {
	if !strings.HasSuffix(key, ".0") {
		if g.onRenew != nil {
			g.onRenew()
		}
		if g.loseAdd.Load() {
			if err := g.simHost.PoolAddToOtherConfig(context.Background(), pool, key, value); err != nil {
				return err
			}
			return &xapi.TransportError{Method: "pool.add_to_other_config", Err: errors.New("connection reset by peer")}
		}
	}
	return g.simHost.PoolAddToOtherConfig(ctx, pool, key, value)
}

func (g *gatedAPI) PoolRemoveFromOtherConfig(ctx context.Context, pool xapi.Ref, key string) error {
	g.removes.Add(1)
	if g.failRemoves.Add(-1) >= 0 {
		return &xapi.TransportError{Method: "pool.remove_from_other_config", Err: errors.New("connection refused")}
	}
	return g.simHost.PoolRemoveFromOtherConfig(ctx, pool, key)
}

// TestReleaseDuringARenewalLeavesNoClaim: a Release that meets a renewal
// in flight waits for it and removes the renewed claim; one whose add
// reached xapi without its answer coming back removes that claim too.
func TestReleaseDuringARenewalLeavesNoClaim(t *testing.T) {
	for _, lose := range []bool{false, true} {
		t.Run(fmt.Sprintf("answer lost %v", lose), func(t *testing.T) {
			g := &gatedAPI{simHost: newSimHost(t)}
			g.loseAdd.Store(lose)
			inFlight, releasing := make(chan struct{}), make(chan struct{})
			var once sync.Once
			g.onRenew = func() {
				once.Do(func() {
					close(inFlight)
					<-releasing // Release has begun: stop has been closed
				})
			}
			o := opts("alice@ci-3", 4242)
			o.renewEvery = time.Millisecond
			ctx := context.Background()
			l, err := Acquire(ctx, g, o)
			if err != nil {
				t.Fatal(err)
			}
			<-inFlight
			released := make(chan error, 1)
			go func() { released <- l.Release(ctx) }()
			<-l.Released()
			close(releasing)
			if err := <-released; err != nil {
				t.Fatal(err)
			}
			if cs := g.claims(t); len(cs) != 0 {
				t.Fatalf("claims left after a release that met a renewal: %v", cs)
			}
		})
	}
}

// TestReleaseTriesAgainWhileTheHostDoesNotAnswer: removals that fail
// without an answer are tried again, and the claim goes; a refusal by
// xapi is not tried again.
func TestReleaseTriesAgainWhileTheHostDoesNotAnswer(t *testing.T) {
	g := &gatedAPI{simHost: newSimHost(t)}
	o := opts("alice@ci-3", 4242)
	o.retryPause = time.Millisecond
	ctx := context.Background()
	l, err := Acquire(ctx, g, o)
	if err != nil {
		t.Fatal(err)
	}
	g.failRemoves.Store(3)
	g.removes.Store(0)
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := g.removes.Load(); n != 4 {
		t.Errorf("release made %d removal attempts, want 4 (3 unanswered, then one that worked)", n)
	}
	if cs := g.claims(t); len(cs) != 0 {
		t.Fatalf("claims left: %v", cs)
	}

	// xapi's own refusal is final.
	l, err = Acquire(ctx, g, o)
	if err != nil {
		t.Fatal(err)
	}
	l.pool = "OpaqueRef:not-a-pool"
	g.removes.Store(0)
	if err := l.Release(ctx); !xapi.HasCode(err, "HANDLE_INVALID") || g.removes.Load() != 1 {
		t.Fatalf("release refused by xapi: %v after %d attempts, want HANDLE_INVALID after 1", err, g.removes.Load())
	}
}

// TestWaiterWakesWhenTheLockIsReleased: a waiter that would look again
// only after an hour takes the lock once the holder releases it: its
// event.from returns with the change, and it then reads the clock, adds
// its claim and reads again.
func TestWaiterWakesWhenTheLockIsReleased(t *testing.T) {
	url := startSim(t)
	holderHost, waiterHost := dialSim(t, url), dialSim(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := Acquire(ctx, holderHost, opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	var lg logs
	o := opts("bob@ci-4", 7)
	o.Poll, o.Logf = time.Hour, lg.logf
	got := make(chan error, 1)
	var afterRelease atomic.Int64
	go func() {
		l, err := Acquire(ctx, waiterHost, o)
		afterRelease.Add(waiterHost.RoundTrips())
		if l != nil {
			l.Release(ctx)
		}
		got <- err
	}()
	lg.waitFor(t, "; waiting", "the waiter never said it waits")
	// The waiter sits in event.from now or is about to: its round trips
	// so far are the login, the first read and clock and the wait.
	before := waiterHost.RoundTrips()
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// The wait's return, the clock, the add and the check: 3 new round
	// trips, plus the wait itself if it had not been sent yet.
	if n := afterRelease.Load() - before; n > 4 {
		t.Errorf("the waiter took %d round trips from the release to the lock, want at most 4", n)
	}
}

// TestRacingRunsLeaveNoClaims: six runs race for one host through 100
// rounds, renewing as fast as they can so that releases meet renewals:
// never two hold it at once, and no claim is left at the end.
func TestRacingRunsLeaveNoClaims(t *testing.T) {
	const runs, rounds = 6, 100
	url := startSim(t)
	check := dialSim(t, url)
	// A claim a release left behind stops its own run at once ("locked by
	// this very run") and holds the others until it expires (a minute).
	// The bound is for the race detector, under which a run takes a
	// minute; without it, a few seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var holding, maxHolding, done atomic.Int32
	var wg sync.WaitGroup
	for r := range runs {
		h := dialSim(t, url)
		wg.Go(func() {
			for range rounds {
				o := opts(fmt.Sprintf("run%d@ci", r), r+1)
				// Waiters wake on the pool's events, not on Poll; a long Poll
				// lets runs that collide back off far enough apart.
				o.renewEvery, o.Poll = time.Millisecond, time.Second
				l, err := Acquire(ctx, h, o)
				if err != nil {
					t.Error(err)
					return
				}
				n := holding.Add(1)
				for m := maxHolding.Load(); n > m && !maxHolding.CompareAndSwap(m, n); m = maxHolding.Load() {
				}
				// Work on the host while holding it (renewals go on).
				if _, err := h.PoolGetAll(ctx); err != nil {
					t.Error(err)
				}
				holding.Add(-1)
				done.Add(1)
				if err := l.Release(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if maxHolding.Load() != 1 || done.Load() != runs*rounds {
		t.Fatalf("at most %d held it at once (want 1); %d rounds of %d", maxHolding.Load(), done.Load(), runs*rounds)
	}
	if cs := check.claims(t); len(cs) != 0 {
		t.Fatalf("%d claims left after %d rounds: %v", len(cs), runs*rounds, cs)
	}
}

// deafEvents is a xapi whose event.from never reports a change to a token
// it gave (as after a restart, when an old token may name a generation
// the new database has not reached): it waits, then answers nothing.
type deafEvents struct{ *simHost }

func (d deafEvents) EventFrom(ctx context.Context, classes []string, token string, timeout float64) (xapi.EventBatch, error) {
	if token == "" {
		return d.simHost.EventFrom(ctx, classes, token, timeout)
	}
	if err := sleep(ctx, time.Duration(timeout*float64(time.Second))); err != nil {
		return xapi.EventBatch{}, err
	}
	return xapi.EventBatch{Token: token}, nil
}

// TestWaiterDoesNotTrustAQuietToken: a waiter whose event.from stays
// silent reads the pool whole after each Poll, so it still takes the
// lock once the holder released it.
func TestWaiterDoesNotTrustAQuietToken(t *testing.T) {
	url := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	held, err := Acquire(ctx, dialSim(t, url), opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	var lg logs
	o := opts("bob@ci-4", 7)
	o.Logf = lg.logf
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(ctx, deafEvents{dialSim(t, url)}, o)
		if l != nil {
			l.Release(ctx)
		}
		got <- err
	}()
	lg.waitFor(t, "; waiting", "the waiter never said it waits")
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiter never took the released lock: %v", err)
	}
}
