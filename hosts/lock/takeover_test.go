package lock

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// holderEnv makes the test binary a run that takes the lock of the xapi
// at that URL (the password on stdin), says "held KEY" and waits to be
// killed.
const holderEnv = "XENLAB_LOCK_TEST_HOLDER"

func TestMain(m *testing.M) {
	if url := os.Getenv(holderEnv); url != "" {
		os.Exit(holdUntilKilled(url))
	}
	os.Exit(m.Run())
}

func holdUntilKilled(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pw, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(strings.TrimSpace(pw))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := Acquire(ctx, c, Options{Host: "xs1", Lab: "demo", Command: "up", Expiry: time.Minute, NoWait: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("held", l.Holder().Key())
	<-ctx.Done() // killed long before
	return 1
}

// canJudge skips a test when this machine cannot tell a claim's process
// from another (no /proc).
func canJudge(t *testing.T) Holder {
	t.Helper()
	me := Holder{PID: os.Getpid()}
	identify(&me)
	if me.PIDStart == 0 {
		t.Skip("this machine has no /proc to tell whether a claim's process runs")
	}
	return me
}

// TestDeadRunOnThisMachineIsTakenOverAtOnce: a run killed (SIGKILL)
// while holding the lock leaves its claim; the next run on this machine
// sees its process is gone and takes the lock at once, saying so: no
// waiting (it runs with NoWait), in 5 round trips (read, clock, removing
// the dead claim, its own claim, read).
func TestDeadRunOnThisMachineIsTakenOverAtOnce(t *testing.T) {
	canJudge(t)
	url := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+url)
	cmd.Stdin = strings.NewReader("lock-test\n")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "held ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the holder process said %q (%v)", line, err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Kill()
	cmd.Wait()

	h := dialSim(t, url)
	cs := h.claims(t)
	dead, ok := cs[strings.TrimSpace(strings.TrimPrefix(line, "held "))]
	if len(cs) != 1 || !ok || dead.PID != pid || dead.PIDStart == 0 {
		t.Fatalf("the killed run's claims: %v", cs)
	}
	var lg logs
	before := h.RoundTrips()
	l, err := Acquire(ctx, h, Options{Host: "xs1", Lab: "demo", Command: "down", Expiry: time.Minute, NoWait: true, Logf: lg.logf})
	if err != nil {
		t.Fatalf("the next run on this machine: %v", err)
	}
	defer l.Release(ctx)
	if n := h.RoundTrips() - before; n != 5 {
		t.Errorf("taking over cost %d round trips, want 5", n)
	}
	want := fmt.Sprintf("taking over the lock of %s: its process is gone (no pid %d on this machine)", dead, pid)
	if !lg.has(want) {
		t.Errorf("log %q, want %q", lg.lines, want)
	}
	if cs := h.claims(t); len(cs) != 1 {
		t.Errorf("claims after the take-over: %v", cs)
	}
}

// TestOnlyAClaimKnownDeadIsTakenOverEarly: a claim whose pid now runs
// another process is taken over; one whose process runs, or that was
// written in another pid namespace or on another machine, is waited for.
func TestOnlyAClaimKnownDeadIsTakenOverEarly(t *testing.T) {
	me := canJudge(t)
	for _, c := range []struct {
		name  string
		edit  func(*Holder)
		taken string // what the take-over says; "" when the run must wait
	}{
		{"its process runs", func(*Holder) {}, ""},
		{"its pid is another process now", func(h *Holder) { h.PIDStart++ }, fmt.Sprintf("pid %d is another process now", me.PID)},
		{"another pid namespace", func(h *Holder) { h.PIDNS, h.PID = "pid:[1]", 1<<30 }, ""},
		{"another machine", func(h *Holder) { h.Machine, h.PID = "elsewhere", 1<<30 }, ""},
		{"another boot", func(h *Holder) { h.Boot, h.PID = "00000000-0000-0000-0000-000000000000", 1<<30 }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newSimHost(t)
			ctx := context.Background()
			theirs := me
			theirs.Owner, theirs.Lab, theirs.Command, theirs.Run = "alice@ci-3", "demo", "up", "another run"
			theirs.Started, theirs.Expires = time.Now(), time.Now().Add(time.Hour)
			c.edit(&theirs)
			v, _ := json.Marshal(theirs)
			if err := h.PoolAddToOtherConfig(ctx, h.pool, KeyPrefix+"theirs.0", string(v)); err != nil {
				t.Fatal(err)
			}
			var lg logs
			o := opts("bob@ci-4", 7)
			o.NoWait, o.Logf = true, lg.logf
			l, err := Acquire(ctx, h, o)
			if c.taken == "" {
				if !errors.As(err, new(*LockedError)) {
					t.Fatalf("got %v, want a LockedError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Release(ctx)
			if !lg.has(c.taken) {
				t.Fatalf("log %q, want %q", lg.lines, c.taken)
			}
		})
	}
}
