package main

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// run is a `xenlab up` started in the background whose stdout lines are
// watched as they come.
type run struct {
	cmd    *exec.Cmd
	stderr strings.Builder
	mu     sync.Mutex
	lines  []string
	seen   map[string]chan struct{} // closed when a line containing the key came
	seenAt map[string]time.Time     // when it came
	exited chan struct{}
	code   int
	at     time.Time // when it exited
}

func startUp(t *testing.T, ctx context.Context, waitFor []string, args ...string) *run {
	t.Helper()
	r := &run{seen: map[string]chan struct{}{}, seenAt: map[string]time.Time{}, exited: make(chan struct{})}
	for _, w := range waitFor {
		r.seen[w] = make(chan struct{})
	}
	r.cmd = exec.CommandContext(ctx, xenlab, append([]string{"up"}, args...)...)
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			for w, ch := range r.seen {
				if strings.Contains(sc.Text(), w) {
					r.seenAt[w] = time.Now()
					close(ch)
					delete(r.seen, w)
				}
			}
			r.mu.Unlock()
		}
		err := r.cmd.Wait()
		r.code, r.at = exitCode(err, r.cmd), time.Now()
		close(r.exited)
	}()
	return r
}

// await waits for a stdout line containing s, or for the run's end.
func (r *run) await(t *testing.T, s string) time.Time {
	t.Helper()
	r.mu.Lock()
	ch := r.seen[s]
	r.mu.Unlock()
	select {
	case <-ch:
		return time.Now()
	case <-r.exited:
		select {
		case <-ch:
			return r.at
		default:
		}
		t.Fatalf("up exited %d without printing %q:\n%s\n%s", r.code, s, r.output(), r.stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("no %q within 3 minutes", s)
	}
	return time.Time{}
}

func (r *run) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(3 * time.Minute):
		t.Fatal("up did not end within 3 minutes")
	}
}

func (r *run) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// xapiLogin is preflight's first line after the xapi login, which the host
// lock comes with: the run holds the lock from then on.
const xapiLogin = "preflight | xapi "

// TestTwoUpsOnOneHost (issue 12, locks): while one `xenlab up` works on the
// simulated host, a second with --no-wait fails at once (exit 1, naming
// the holder), and a third waits, saying so, and starts only once the
// first ended: it finds the first's work done. Then a run killed while it
// holds the lock leaves it behind, and the next run takes it over after
// its --lock-expiry and says so; a run stopped by SIGTERM releases it.
func TestTwoUpsOnOneHost(t *testing.T) {
	t.Parallel() // a simulated host of its own
	_, ep := simServe(t)
	needStandIn(t, ep.Isolation)
	lab := ep.LabFile
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// The lock is released after the last step ended (and the first's
	// process exits a moment later): the waiting run may log in only
	// after the first's last step line.
	const lastStep = "snapshot done "
	first := startUp(t, ctx, []string{xapiLogin, lastStep}, "-f", lab)
	first.await(t, xapiLogin)

	code, stdout, stderr := up(ctx, "-f", lab, "--no-wait")
	pid := strconv.Itoa(first.cmd.Process.Pid)
	if code != 1 || !strings.Contains(stderr, "host sim is locked by ") || !strings.Contains(stderr, " pid "+pid+" (lab sim, up) since ") ||
		!strings.Contains(stderr, "not waiting (--no-wait)") || strings.Contains(stdout, xapiLogin) {
		t.Fatalf("--no-wait while another run holds the host: exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	select {
	case <-first.exited:
		t.Fatal("the first run ended before --no-wait was refused: the test proves nothing") // a cold up lasts seconds
	default:
	}

	third := startUp(t, ctx, []string{xapiLogin}, "-f", lab)
	started := third.await(t, xapiLogin)
	first.wait(t)
	third.wait(t)
	first.mu.Lock()
	lastAt, ok := first.seenAt[lastStep]
	first.mu.Unlock()
	if !ok {
		t.Fatalf("the first run printed no %q:\n%s", lastStep, first.output())
	}
	if started.Before(lastAt) {
		t.Fatalf("the waiting run logged in to xapi at %v, before the first's last step ended at %v", started, lastAt)
	}
	if !strings.Contains(third.stderr.String(), "xenlab: host sim is locked by ") || !strings.Contains(third.stderr.String(), "; waiting") {
		t.Errorf("the waiting run did not say it waits:\n%s", third.stderr.String())
	}
	for _, step := range []string{"domU", "agents"} {
		if !strings.Contains(third.output(), step+" ") || !alreadyDone(third.output(), step) {
			t.Errorf("the waiting run did not find %s done by the first:\n%s", step, third.output())
		}
	}
	if first.code != 0 || third.code != 0 {
		t.Fatalf("exit codes %d and %d, want 0 and 0:\n%s\n%s", first.code, third.code, first.stderr.String(), third.stderr.String())
	}

	// A run killed while it holds the lock: the next run on this machine
	// sees its process is gone and takes the lock over at once, without
	// waiting (--no-wait would refuse a live claim).
	killed := startUp(t, ctx, []string{xapiLogin}, "-f", lab)
	killed.await(t, xapiLogin)
	killed.cmd.Process.Signal(syscall.SIGKILL)
	killed.wait(t)
	code, _, stderr = up(ctx, "-f", lab, "--no-wait")
	kpid := strconv.Itoa(killed.cmd.Process.Pid)
	if code != 0 || strings.Contains(stderr, "; waiting") ||
		!strings.Contains(stderr, "xenlab: host sim: taking over the lock of ") || !strings.Contains(stderr, " pid "+kpid+" ") ||
		!strings.Contains(stderr, "its process is gone (no pid "+kpid+" on this machine)") {
		t.Fatalf("after a killed run: exit %d, stderr:\n%s", code, stderr)
	}

	// SIGTERM stops a run and releases its lock: the next run finds the
	// host free at once.
	term := startUp(t, ctx, []string{xapiLogin}, "-f", lab)
	term.await(t, xapiLogin)
	term.cmd.Process.Signal(syscall.SIGTERM)
	term.wait(t)
	if term.code != 143 {
		t.Fatalf("SIGTERM'd run: exit %d, want 143:\n%s", term.code, term.stderr.String())
	}
	if code, _, stderr := up(ctx, "-f", lab, "--no-wait"); code != 0 || strings.Contains(stderr, "locked by") {
		t.Fatalf("after a SIGTERM'd run: exit %d, stderr:\n%s", code, stderr)
	}
}

// alreadyDone reports whether the run's summary table shows step as
// already-done (the table's rows: "domU   already-done  0  0s").
func alreadyDone(out, step string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == step && f[1] == "already-done" {
			return true
		}
	}
	return false
}
