// Package lock keeps two xenlab runs from working on one XenServer host at
// the same time. The lock lives on the host, in the pool's other_config, so
// runs on different machines (two CI runners) see each other.
//
// # Why claims and not one key
//
// xapi has no compare-and-swap on a map entry: pool.add_to_other_config is
// atomic (an existing key is MAP_DUPLICATE_KEY) and remove_from_other_config
// is unconditional. One shared key is enough to take a free lock, but not
// to take over an expired one: two waiters that both saw it expire can each
// remove and add, the second removing the first's fresh lock after the
// first re-read it and believed it won. Renewing one key (remove, then add)
// also leaves a moment with no key, in which a newcomer takes it.
//
// So each run writes its own claim, a key no other run writes,
// "xenlab-lock.<token>.<n>", and takes the lock by announcing and checking
// (as in Lamport's mutual exclusion): it reads the claims; if one of
// another run is live it waits (or fails with NoWait); otherwise it removes
// the expired ones (their runs died), adds its claim, and reads again. If
// it then sees another live claim it withdraws its own and tries again
// after a random pause. Two runs cannot both win: each would have had to
// read before the other added. A holder renews by adding claim n+1 before
// removing claim n, so it is never without a live claim. Expiry is judged
// by the host's clock (host.get_servertime), the one clock every runner
// shares.
//
// A waiting run does not poll on a timer: it waits in event.from, with
// the token of its last read of the pool, until the pool's record changes
// (a release, a renewal) or Options.Poll passes, so it notices a release
// one round trip after it. A claim of a run on this
// machine whose process is gone is taken over at once (proc.go), not
// after its expiry.
//
// Release waits for a renewal in flight instead of cutting it off, and
// removes the renewal's claim too when its fate is unknown (removing a key
// that is not there is no error in xapi), so no claim outlives its run;
// it tries again for a few seconds (releaseRetry) while the host does not
// answer.
//
// The safety of any lease rests on its holder renewing in time: a run that
// cannot renew before its expiry is told (Lost) and must stop.
package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"xenlab/hosts/xapi"
)

// KeyPrefix starts every claim's key in the pool's other_config.
const KeyPrefix = "xenlab-lock."

// DefaultExpiry is how long a claim lives without being renewed.
const DefaultExpiry = 5 * time.Minute

// MinExpiry is the shortest expiry: the host's clock counts whole seconds.
const MinExpiry = 2 * time.Second

// releaseRetry is how long Release tries again to remove a claim while
// the host does not answer (within the caller's context).
const releaseRetry = 5 * time.Second

// API is what the lock asks of xapi; *xapi.Client has it.
type API interface {
	EventFrom(ctx context.Context, classes []string, token string, timeout float64) (xapi.EventBatch, error)
	HostGetServertime(ctx context.Context, host xapi.Ref) (time.Time, error)
	PoolAddToOtherConfig(ctx context.Context, pool xapi.Ref, key, value string) error
	PoolRemoveFromOtherConfig(ctx context.Context, pool xapi.Ref, key string) error
}

// Holder is what a claim says about the run that wrote it.
type Holder struct {
	Owner   string    `json:"owner"` // user@machine
	PID     int       `json:"pid"`
	Lab     string    `json:"lab,omitempty"`
	Command string    `json:"command,omitempty"` // up, reset, down
	Run     string    `json:"run,omitempty"`     // this process's random ID, to tell its own claims
	Started time.Time `json:"started"`           // the host's clock
	Expires time.Time `json:"expires"`           // the host's clock
	// Where the process runs, to tell later whether it still does
	// (proc.go); empty where this machine cannot say.
	Machine  string `json:"machine,omitempty"`   // os.Hostname
	Boot     string `json:"boot,omitempty"`      // the kernel's boot ID
	PIDNS    string `json:"pidns,omitempty"`     // the pid namespace
	PIDStart uint64 `json:"pid_start,omitempty"` // the process's start, clock ticks since boot

	key string // the claim's other_config key
	bad bool   // the value under key is not a claim xenlab wrote
}

// Key is the claim's key in the pool's other_config.
func (h Holder) Key() string { return h.key }

// String says who holds it: "alice@ci-3 pid 4242 (lab demo, up) since
// 17:02:05 UTC, expires 17:07:05 UTC".
func (h Holder) String() string {
	if h.bad {
		return fmt.Sprintf("an unreadable claim (pool other_config key %s)", h.key)
	}
	what := ""
	switch {
	case h.Lab != "" && h.Command != "":
		what = fmt.Sprintf(" (lab %s, %s)", h.Lab, h.Command)
	case h.Lab != "":
		what = fmt.Sprintf(" (lab %s)", h.Lab)
	}
	return fmt.Sprintf("%s pid %d%s since %s, expires %s", h.Owner, h.PID, what, clock(h.Started), clock(h.Expires))
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

// Options configure Acquire.
type Options struct {
	Host    string // the lab's name for the host, in messages
	Lab     string
	Command string
	// Owner and PID name this run (default: user@machine and os.Getpid()).
	Owner string
	PID   int
	// Expiry is how long the claim lives unrenewed (DefaultExpiry when
	// zero); it is renewed every Expiry/3.
	Expiry time.Duration
	// NoWait fails at once, with a *LockedError, when another run holds it.
	NoWait bool
	// Poll is the longest a waiting run goes without reading the claims
	// again when the pool does not change (default Expiry/10, between 1 s
	// and 10 s): a claim may expire, or its process end, without a word.
	Poll time.Duration
	// Logf receives the waiting and take-over messages.
	Logf func(format string, args ...any)

	renewEvery time.Duration // Expiry/3 unless a test sets it
	run        string        // runID unless a test plays several processes
	retryPause time.Duration // Release's first pause between tries (100ms unless a test sets it)
}

// LockedError is a host another run holds, with NoWait.
type LockedError struct {
	Host   string
	Holder Holder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("host %s is locked by %s; not waiting (--no-wait)", e.Host, e.Holder)
}

// ErrLost is the cause of a Lost lock: it could not be renewed before it
// expired, so another run may now take it.
var ErrLost = errors.New("lost the host lock: it could not be renewed before it expired")

// Lock is a held host lock, renewed until Release.
type Lock struct {
	api    API
	pool   xapi.Ref
	opts   Options
	holder Holder
	token  string
	// offset is the host's clock minus ours, measured at the last read.
	offset time.Duration
	// rec is the pool's record as the last read left it, and events the
	// event.from token of that read.
	rec    xapi.PoolRecord
	events string

	mu      sync.Mutex
	seq     int
	stale   []int              // earlier claims whose removal failed, removed at the next renewal
	unsure  bool               // claim seq+1 may exist: its add's answer never came
	renewed time.Time          // our monotonic clock at the last renewal
	cancel  context.CancelFunc // the renewal in flight's
	lost    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Acquire takes the host's lock, waiting while another run holds it (or
// failing with a *LockedError under NoWait), and starts renewing it.
func Acquire(ctx context.Context, api API, opts Options) (*Lock, error) {
	if opts.Expiry == 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.Expiry < MinExpiry {
		return nil, fmt.Errorf("lock expiry %s is shorter than %s", opts.Expiry, MinExpiry)
	}
	if opts.Poll <= 0 {
		opts.Poll = min(max(opts.Expiry/10, time.Second), 10*time.Second)
	}
	if opts.run == "" {
		opts.run = runID
	}
	if opts.renewEvery <= 0 {
		opts.renewEvery = opts.Expiry / 3
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Owner == "" {
		opts.Owner = defaultOwner()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.retryPause <= 0 {
		opts.retryPause = 100 * time.Millisecond
	}
	l := &Lock{api: api, opts: opts, token: newToken()}
	me := Holder{Owner: opts.Owner, PID: opts.PID, Lab: opts.Lab, Command: opts.Command, Run: opts.run}
	identify(&me)
	told := ""
	var wait time.Duration // how long the next read may wait for the pool to change
	for conflicts := 0; ; {
		now, claims, err := l.read(ctx, true, wait)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for host %s's lock: %w", opts.Host, context.Cause(ctx))
			}
			return nil, err
		}
		wait = 0
		if h, ok := firstLive(claims, now); ok {
			if h.Run == opts.run {
				return nil, fmt.Errorf("host %s is locked by this very run (%s): do two hosts of the lab share one xapi pool?", opts.Host, h)
			}
			if opts.NoWait {
				return nil, &LockedError{Host: opts.Host, Holder: h}
			}
			if id := h.identity(); id != told { // once per holder, not per renewal
				opts.Logf("host %s is locked by %s; waiting", opts.Host, h)
				told = id
			}
			// The next read blocks until the pool changes (the holder
			// releases or renews) or Poll passes.
			wait = opts.Poll
			continue
		}
		for _, h := range claims {
			why := "it expired (its run died or hung)"
			if !h.expired(now) {
				why = gone(h)
			}
			opts.Logf("host %s: taking over the lock of %s: %s", opts.Host, h, why)
			if err := api.PoolRemoveFromOtherConfig(ctx, l.pool, h.key); err != nil {
				return nil, fmt.Errorf("host %s: removing a dead run's lock: %w", opts.Host, err)
			}
		}
		l.holder = me
		l.holder.Started, l.holder.Expires, l.holder.key = now, now.Add(opts.Expiry), l.key(0)
		if err := l.add(ctx, 0, l.holder); err != nil {
			l.withdraw() // the add may have reached xapi without its answer reaching us
			return nil, err
		}
		_, claims, err = l.read(ctx, false, 0) // judged by the clock read above: a later one would only see fewer claims live
		if err != nil {
			l.withdraw()
			return nil, err
		}
		if _, ok := firstLive(claims, now); !ok {
			l.start()
			return l, nil
		}
		// Another run announced at the same time: both withdraw, and try
		// again after a random pause that grows with the conflicts.
		if err := api.PoolRemoveFromOtherConfig(ctx, l.pool, l.key(0)); err != nil {
			return nil, fmt.Errorf("host %s: withdrawing a lock claim: %w", opts.Host, err)
		}
		conflicts++
		if err := sleep(ctx, jitter(min(opts.Poll, 50*time.Millisecond<<min(conflicts, 6)))); err != nil {
			return nil, fmt.Errorf("waiting for host %s's lock: %w", opts.Host, err)
		}
	}
}

// Holder is the claim this run holds.
func (l *Lock) Holder() Holder {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder
}

// identity tells one run's claims from another's across renewals.
func (h Holder) identity() string {
	if i := strings.LastIndexByte(h.key, '.'); i >= 0 {
		return h.key[:i]
	}
	return h.key
}

// Lost is closed when the lock could not be renewed before it expired:
// the run must stop, another may have taken the host.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Released is closed once Release was called.
func (l *Lock) Released() <-chan struct{} { return l.stop }

// Release stops renewing and removes the claim. A renewal in flight is
// waited for (and cut off only when ctx ends first), and its claim is
// removed too when whether it was added is unknown. While the host does
// not answer, each removal is tried again for a few seconds within ctx.
// It is safe to call more than once.
func (l *Lock) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		select {
		case <-l.done:
		case <-ctx.Done():
			l.mu.Lock()
			if l.cancel != nil {
				l.cancel()
			}
			l.mu.Unlock()
			<-l.done
		}
		l.mu.Lock()
		seqs := append(slices.Clone(l.stale), l.seq)
		if l.unsure {
			seqs = append(seqs, l.seq+1)
		}
		l.mu.Unlock()
		for _, n := range seqs {
			if rerr := l.remove(ctx, l.key(n)); rerr != nil && err == nil {
				err = fmt.Errorf("host %s: releasing the lock: %w", l.opts.Host, rerr)
			}
		}
	})
	return err
}

// remove removes a claim, trying again for up to releaseRetry (within
// ctx) while xapi does not answer; an answer that refuses is final.
func (l *Lock) remove(ctx context.Context, key string) error {
	deadline := time.Now().Add(releaseRetry)
	pause := l.opts.retryPause
	for {
		err := l.api.PoolRemoveFromOtherConfig(ctx, l.pool, key)
		if err == nil || errors.As(err, new(*xapi.Error)) || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return err
		}
		if sleep(ctx, pause) != nil {
			return err
		}
		pause = min(2*pause, time.Second)
	}
}

func (l *Lock) key(seq int) string { return KeyPrefix + l.token + "." + strconv.Itoa(seq) }

// read returns the host's time (with clock; else the zero time) and the
// other runs' claims, in two round trips (one without clock), and
// remembers the pool and the clocks' offset. The pool is read whole with
// event.from and an empty token. With wait, the read first waits (up to
// wait) for the pool to change since the read before, with that read's
// token: the changes it returns are the pool's record now; when none came
// the pool is read whole after all, so that a token xapi no longer
// honours (a restart) cannot leave a waiter on an old record. The read
// that confirms a claim is always whole.
func (l *Lock) read(ctx context.Context, clock bool, wait time.Duration) (time.Time, []Holder, error) {
	whole := true
	if wait > 0 && l.events != "" {
		b, err := l.api.EventFrom(ctx, []string{"pool"}, l.events, wait.Seconds())
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("host %s: reading the lock: %w", l.opts.Host, err)
		}
		n, err := l.apply(b)
		if err != nil {
			return time.Time{}, nil, err
		}
		whole = n == 0
	}
	if whole {
		b, err := l.api.EventFrom(ctx, []string{"pool"}, "", 0)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("host %s: reading the lock: %w", l.opts.Host, err)
		}
		if n, err := l.apply(b); err != nil || n != 1 {
			if err == nil {
				err = fmt.Errorf("host %s: reading the lock: xapi lists %d pools, want 1", l.opts.Host, n)
			}
			return time.Time{}, nil, err
		}
	}
	var now time.Time
	if clock {
		before := time.Now()
		var err error
		if now, err = l.api.HostGetServertime(ctx, l.rec.Master); err != nil {
			return time.Time{}, nil, fmt.Errorf("host %s: reading its clock: %w", l.opts.Host, err)
		}
		l.offset = now.Sub(before)
	}
	var claims []Holder
	for k, v := range l.rec.OtherConfig {
		rest, ok := strings.CutPrefix(k, KeyPrefix)
		if !ok || strings.HasPrefix(rest, l.token+".") {
			continue
		}
		h := Holder{key: k}
		if json.Unmarshal([]byte(v), &h) != nil || h.Owner == "" || h.Expires.IsZero() {
			h = Holder{key: k, bad: true}
		}
		claims = append(claims, h)
	}
	slices.SortFunc(claims, func(a, b Holder) int { return a.Started.Compare(b.Started) })
	return now, claims, nil
}

// apply takes the pool's record from an event.from batch and its token;
// it returns how many pool records the batch held.
func (l *Lock) apply(b xapi.EventBatch) (int, error) {
	n := 0
	for _, ev := range b.Events {
		if !strings.EqualFold(ev.Class, "pool") || ev.Operation == "del" {
			continue
		}
		var rec xapi.PoolRecord
		if err := rec.UnmarshalXAPI(ev.Snapshot); err != nil {
			return 0, fmt.Errorf("host %s: reading the lock: %w", l.opts.Host, err)
		}
		l.pool, l.rec = ev.Ref, rec
		n++
	}
	l.events = b.Token
	return n, nil
}

// firstLive returns the oldest claim that has not expired at now and
// whose process is not known to be gone. A claim xenlab cannot read is
// live: it is removed by hand, never guessed at.
func firstLive(claims []Holder, now time.Time) (Holder, bool) {
	for _, h := range claims {
		if h.bad || (!h.expired(now) && gone(h) == "") {
			return h, true
		}
	}
	return Holder{}, false
}

// expired reports whether the claim's expiry has passed at now.
func (h Holder) expired(now time.Time) bool { return !h.bad && !now.Before(h.Expires) }

func (l *Lock) add(ctx context.Context, seq int, h Holder) error {
	v, _ := json.Marshal(h)
	if err := l.api.PoolAddToOtherConfig(ctx, l.pool, l.key(seq), string(v)); err != nil {
		return fmt.Errorf("host %s: writing the lock: %w", l.opts.Host, err)
	}
	return nil
}

// withdraw removes claim 0 after a failed acquisition, on its own bound.
func (l *Lock) withdraw() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.api.PoolRemoveFromOtherConfig(ctx, l.pool, l.key(0))
}

// start begins renewing every Expiry/3.
func (l *Lock) start() {
	l.lost = make(chan struct{})
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	l.renewed = time.Now()
	go l.renewLoop()
}

func (l *Lock) renewLoop() {
	defer close(l.done)
	every := l.opts.renewEvery
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		// A renewal runs to its end even when Release is called meanwhile
		// (Release waits for it), bounded by a renewal period.
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Expiry/3)
		l.mu.Lock()
		l.cancel = cancel
		l.mu.Unlock()
		err := l.renew(ctx)
		cancel()
		select {
		case <-l.stop:
			return
		default:
		}
		switch {
		case err == nil:
		case time.Since(l.renewed) >= l.opts.Expiry:
			l.opts.Logf("host %s: %v (%v)", l.opts.Host, ErrLost, err)
			close(l.lost)
			return
		default:
			l.opts.Logf("host %s: renewing the lock failed, trying again in %s: %v", l.opts.Host, every, err)
		}
	}
}

// renew adds the next claim, with a new expiry, before removing the
// current one (and any earlier one a failed removal left), so the run is
// never without a live claim.
func (l *Lock) renew(ctx context.Context) error {
	local := time.Now()
	l.mu.Lock()
	h, seq := l.holder, l.seq
	l.mu.Unlock()
	h.Expires = local.Add(l.offset).UTC().Truncate(time.Second).Add(l.opts.Expiry)
	h.key = l.key(seq + 1)
	l.mu.Lock()
	l.unsure = true // until xapi answers
	l.mu.Unlock()
	err := l.add(ctx, seq+1, h)
	if xapi.HasCode(err, xapi.CodeMapDuplicateKey) {
		// An earlier attempt's add reached xapi but its answer did not
		// reach us: claim seq still covers us while it is replaced.
		if err = l.api.PoolRemoveFromOtherConfig(ctx, l.pool, l.key(seq+1)); err != nil {
			return err // claim seq+1 is still there
		}
		err = l.add(ctx, seq+1, h)
	}
	if err != nil {
		if errors.As(err, new(*xapi.Error)) { // xapi answered the add: no claim seq+1
			l.mu.Lock()
			l.unsure = false
			l.mu.Unlock()
		}
		return err
	}
	l.mu.Lock()
	l.seq, l.renewed, l.holder, l.unsure = seq+1, local, h, false
	l.stale = append(l.stale, seq)
	stale := slices.Clone(l.stale)
	l.mu.Unlock()
	for _, n := range stale {
		if err := l.api.PoolRemoveFromOtherConfig(ctx, l.pool, l.key(n)); err != nil {
			return fmt.Errorf("host %s: removing a renewed claim: %w", l.opts.Host, err)
		}
		l.mu.Lock()
		l.stale = slices.DeleteFunc(l.stale, func(m int) bool { return m == n })
		l.mu.Unlock()
	}
	return nil
}

func defaultOwner() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	machine, err := os.Hostname()
	if err != nil || machine == "" {
		machine = "unknown"
	}
	return name + "@" + machine
}

// runID names this process in its claims: two claims of one process are
// one run meeting itself.
var runID = newToken()

func newToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(mrand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
