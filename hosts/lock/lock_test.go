package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xenlab/hosts/sim/xapid"
	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// simHost is the simulated xapi, in process, and a client logged in to it
// whose view of the host's clock can be moved forward (skew), so expiry is
// tested without waiting for it.
type simHost struct {
	*xapi.Client
	skew atomic.Int64 // added to host.get_servertime
	pool xapi.Ref
}

func (h *simHost) HostGetServertime(ctx context.Context, host xapi.Ref) (time.Time, error) {
	t, err := h.Client.HostGetServertime(ctx, host)
	return t.Add(time.Duration(h.skew.Load())), err
}

func (h *simHost) advance(d time.Duration) { h.skew.Add(int64(d)) }

func (h *simHost) otherConfig(t *testing.T) map[string]string {
	t.Helper()
	pools, err := h.PoolGetAllRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pools[h.pool].OtherConfig
}

// claims returns the lock's keys in the pool's other_config.
func (h *simHost) claims(t *testing.T) map[string]Holder {
	t.Helper()
	out := map[string]Holder{}
	for k, v := range h.otherConfig(t) {
		if strings.HasPrefix(k, KeyPrefix) {
			var c Holder
			if err := json.Unmarshal([]byte(v), &c); err != nil {
				t.Fatalf("claim %s=%q: %v", k, v, err)
			}
			out[k] = c
		}
	}
	return out
}

func newSimHost(t *testing.T) *simHost {
	t.Helper()
	return dialSim(t, startSim(t))
}

// startSim starts the simulated xapi in process and returns its URL.
func startSim(t *testing.T) string {
	t.Helper()
	s, err := xapid.New(xapid.Options{Host: xapid.NewMemHost(t.TempDir()), Password: "lock-test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url, err := s.Listen(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// dialSim logs in to the simulated xapi at url: each run of a test gets
// a client of its own, so its round trips are its own.
func dialSim(t *testing.T, url string) *simHost {
	t.Helper()
	ctx := context.Background()
	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New("lock-test")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	pools, err := c.PoolGetAll(ctx)
	if err != nil || len(pools) != 1 {
		t.Fatalf("pools %v %v", pools, err)
	}
	return &simHost{Client: c, pool: pools[0]}
}

// logs collects Logf lines.
type logs struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each line
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// waitFor returns once a line holds sub, woken by each new line; it
// fails the test, saying what did not happen, if none has in 10 s.
func (l *logs) waitFor(t *testing.T, sub, what string) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		found := false
		for _, s := range l.lines {
			found = found || strings.Contains(s, sub)
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatal(what)
		}
	}
}

func (l *logs) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func opts(owner string, pid int) Options {
	return Options{Host: "xs1", Lab: "demo", Command: "up", Owner: owner, PID: pid,
		Expiry: time.Minute, Poll: 5 * time.Millisecond, run: fmt.Sprintf("%s/%d", owner, pid)}
}

func TestAcquireWritesAClaimAndReleaseRemovesIt(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	before := h.RoundTrips()
	l, err := Acquire(ctx, h, opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	// Read (the pool's record, the host's clock), add, read again.
	if n := h.RoundTrips() - before; n != 4 {
		t.Errorf("taking a free lock cost %d xapi round trips, want 4", n)
	}
	cs := h.claims(t)
	c, ok := cs[l.Holder().Key()]
	if len(cs) != 1 || !ok {
		t.Fatalf("claims %v, want one under %s", cs, l.Holder().Key())
	}
	if c.Owner != "alice@ci-3" || c.PID != 4242 || c.Lab != "demo" || c.Command != "up" ||
		c.Expires.Sub(c.Started) != time.Minute {
		t.Fatalf("claim %+v", c)
	}
	before = h.RoundTrips()
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.RoundTrips() - before; n != 1 {
		t.Errorf("releasing cost %d xapi round trips, want 1", n)
	}
	if err := l.Release(ctx); err != nil { // twice is fine
		t.Fatal(err)
	}
	if cs := h.claims(t); len(cs) != 0 {
		t.Fatalf("claims after release: %v", cs)
	}
}

// TestSecondRunFailsFastOrWaits: with NoWait the second run gets a
// *LockedError naming the holder; without, it says it waits and takes the
// lock only once the first released it.
func TestSecondRunFailsFastOrWaits(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	first, err := Acquire(ctx, h, opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	o := opts("bob@ci-4", 7)
	o.NoWait = true
	_, err = Acquire(ctx, h, o)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.Owner != "alice@ci-3" || le.Holder.PID != 4242 ||
		!strings.Contains(err.Error(), "host xs1 is locked by alice@ci-3 pid 4242 (lab demo, up) since ") {
		t.Fatalf("NoWait: %v", err)
	}
	if cs := h.claims(t); len(cs) != 1 {
		t.Fatalf("a refused run left a claim: %v", cs)
	}

	var released atomic.Bool
	var lg logs
	o = opts("bob@ci-4", 7)
	o.Logf = lg.logf
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(ctx, h, o)
		if err == nil && !released.Load() {
			err = errors.New("took the lock while the first run held it")
		}
		if l != nil {
			l.Release(ctx)
		}
		got <- err
	}()
	lg.waitFor(t, "is locked by alice@ci-3 pid 4242", "the second run never said it waits")
	if !lg.has("; waiting") {
		t.Fatalf("log %q", lg.lines)
	}
	released.Store(true)
	first.Release(ctx)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second run did not get the lock after the first released it")
	}
}

// TestExpiredLockIsTakenOver: a run that died leaves its claim; it is
// taken over once the host's clock passes its expiry, and the message
// says so. Before that, the next run waits.
func TestExpiredLockIsTakenOver(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	dead, err := Acquire(ctx, h, opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	close(dead.stop) // the run dies: no renewal, no release
	<-dead.done

	var lg logs
	o := opts("bob@ci-4", 7)
	o.Logf = lg.logf
	got := make(chan *Lock, 1)
	go func() {
		l, err := Acquire(ctx, h, o)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	lg.waitFor(t, "waiting", "the second run did not wait for a live claim")
	h.advance(time.Minute) // the dead run's claim expires
	var l *Lock
	select {
	case l = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the expired lock was not taken over")
	}
	if l == nil {
		t.FailNow()
	}
	if !lg.has("taking over the lock of alice@ci-3 pid 4242 (lab demo, up)") || !lg.has("it expired") {
		t.Fatalf("log %q", lg.lines)
	}
	cs := h.claims(t)
	if _, ok := cs[l.Holder().Key()]; len(cs) != 1 || !ok || cs[l.Holder().Key()].Owner != "bob@ci-4" {
		t.Fatalf("claims after take-over: %v", cs)
	}
	l.Release(ctx)
}

// TestRenewalKeepsTheLockLive: the holder replaces its claim with a later
// expiry, adding the new one before removing the old, so another run
// always sees it held.
func TestRenewalKeepsTheLockLive(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	o := opts("alice@ci-3", 4242)
	o.renewEvery = 10 * time.Millisecond
	l, err := Acquire(ctx, h, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	first := l.Holder()
	other := opts("bob@ci-4", 7)
	other.NoWait = true
	for i := 0; ; i++ {
		if _, err := Acquire(ctx, h, other); !errors.As(err, new(*LockedError)) {
			t.Fatalf("during renewals another run got %v, want a LockedError", err)
		}
		if l.Holder().Key() != first.Key() && i >= 5 {
			break
		}
		if i > 2000 {
			t.Fatal("the claim was never renewed")
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Renewals go on: the previous claim may still be there, never
	// another run's, and the current one has a later expiry.
	key := l.Holder().Key()
	cs := h.claims(t)
	if len(cs) > 2 {
		t.Fatalf("claims during renewals: %v", cs)
	}
	for k, c := range cs {
		if !strings.HasPrefix(k, KeyPrefix+l.token+".") || c.Started != first.Started || c.Expires.Before(first.Expires) {
			t.Fatalf("claim %s %+v during renewals, first %+v", k, c, first)
		}
	}
	if k2 := l.Holder().Key(); k2 == key {
		if _, ok := cs[key]; !ok {
			t.Fatalf("the current claim %s is missing: %v", key, cs)
		}
	}
}

// TestConcurrentRunsNeverBothHold: runs that contend at once (none holds
// the lock yet, all announce together) never hold it two at a time, and
// each gets it in the end. (Claims of runs that announce and then withdraw
// come and go while one holds it: that is the protocol.)
func TestConcurrentRunsNeverBothHold(t *testing.T) {
	h := newSimHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var holding, maxHolding, rounds atomic.Int32
	var wg sync.WaitGroup
	for r := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				l, err := Acquire(ctx, h, opts(fmt.Sprintf("run%d@ci", r), r+1))
				if err != nil {
					t.Error(err)
					return
				}
				n := holding.Add(1)
				for m := maxHolding.Load(); n > m && !maxHolding.CompareAndSwap(m, n); m = maxHolding.Load() {
				}
				time.Sleep(time.Millisecond)
				holding.Add(-1)
				rounds.Add(1)
				if err := l.Release(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if maxHolding.Load() != 1 || rounds.Load() != 18 {
		t.Fatalf("at most %d held it at once (want 1); %d rounds of 18", maxHolding.Load(), rounds.Load())
	}
}

// TestUnreadableClaimIsNeverGuessedAt: a value under the lock's prefix
// that xenlab did not write holds the host until removed by hand.
func TestUnreadableClaimIsNeverGuessedAt(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	if err := h.PoolAddToOtherConfig(ctx, h.pool, KeyPrefix+"by-hand", "x"); err != nil {
		t.Fatal(err)
	}
	h.advance(24 * time.Hour)
	o := opts("bob@ci-4", 7)
	o.NoWait = true
	_, err := Acquire(ctx, h, o)
	if !errors.As(err, new(*LockedError)) || !strings.Contains(err.Error(), "key "+KeyPrefix+"by-hand") {
		t.Fatalf("got %v", err)
	}
}

func TestExpiryBelowTheClocksResolutionIsRefused(t *testing.T) {
	h := newSimHost(t)
	o := opts("bob@ci-4", 7)
	o.Expiry = time.Second
	if _, err := Acquire(context.Background(), h, o); err == nil || !strings.Contains(err.Error(), "shorter than 2s") {
		t.Fatalf("got %v", err)
	}
}

// TestSameRunTwiceIsAnError: a run that meets its own claim (two lab
// hosts on one pool) says so instead of waiting for itself.
func TestSameRunTwiceIsAnError(t *testing.T) {
	h := newSimHost(t)
	ctx := context.Background()
	l, err := Acquire(ctx, h, opts("alice@ci-3", 4242))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	o := opts("bob@ci-4", 7)
	o.Host, o.run = "xs2", l.opts.run // what tells is the process, not the names
	if _, err := Acquire(ctx, h, o); err == nil || !strings.Contains(err.Error(), "host xs2 is locked by this very run") {
		t.Fatalf("got %v", err)
	}
}
