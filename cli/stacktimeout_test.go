package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/devstack"
	"xenlab/internal/schemacheck"
	"xenlab/provision/clocktest"
)

// TestStackTimeoutBoundsAgentsOnAFleet runs `xenlab up` through the CLI's
// own graph on a fleet of two simulated hosts whose lab file says
// `timeouts { stack = "90m" }`, on a fake clock: on each host the agents
// step (stack.sh) runs under a 90-minute limit, not timeouts.step's 20,
// the limit holds at 89m59s and ends stack.sh at 90m, and the run's
// reports name it on both hosts. --max-hosts 1 puts one host at work at a
// time, so advancing the clock reaches no other host's step.
func TestStackTimeoutBoundsAgentsOnAFleet(t *testing.T) {
	schema, err := schemacheck.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	lab, sims := startFleet(t, 2, "")
	if why := devstack.Unavailable(sims[0].Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
	f, err := os.OpenFile(lab, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("timeouts {\n  stack = \"90m\"\n}\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	clock := clocktest.New(time.Now())
	var out, errb lockedBuilder
	io := IO{In: strings.NewReader(""), Out: &out, Err: &errb, Clock: clock}
	codec := make(chan int, 1)
	go func() {
		codec <- Main(context.Background(), []string{"up", "-f", lab, "--json", "--max-hosts", "1", "--log-dir", ""}, io)
	}()

	// started reports whether host's agents step has begun its Apply
	// (after its Check, whose own limit has then ended).
	started := func(host string) bool {
		return strings.Contains(out.String(), `"step":"agents","host":"`+host+`","kind":"started"`)
	}
	stackLimit := func(p []clocktest.Timer) (n int) {
		for _, tm := range p {
			if tm.Kind == clocktest.KindTimeout && tm.D == 90*time.Minute {
				n++
			}
		}
		return n
	}
	for _, host := range []string{"xs1", "xs2"} {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // bounds a broken run, never a figure
		err := clock.WaitFor(ctx, func(p []clocktest.Timer) bool { return started(host) && stackLimit(p) == 1 })
		cancel()
		if err != nil {
			t.Fatalf("%s: the agents step never ran under a 90m limit: %v\nstdout:\n%s\nstderr:\n%s", host, err, out.String(), errb.String())
		}
		for _, tm := range clock.Pending() {
			if tm.Kind == clocktest.KindTimeout && tm.D != 90*time.Minute {
				t.Fatalf("%s: another step is bounded while agents runs (%s): --max-hosts 1 should allow none", host, tm.D)
			}
		}
		clock.Advance(90*time.Minute - time.Second)
		if stackLimit(clock.Pending()) != 1 {
			t.Fatalf("%s: the 90m limit ended before 90m", host)
		}
		clock.Advance(time.Second)
	}
	var code int
	select {
	case code = <-codec:
	case <-time.After(4 * time.Minute): // bounds a hung run, never a figure
		t.Fatalf("up did not end after both limits passed\nstderr:\n%s", errb.String())
	}
	stderr := errb.String()
	if code != ExitFailed || !strings.Contains(stderr, "2 of 2 hosts failed (xs1, xs2)") {
		t.Fatalf("exit %d, want %d naming both hosts; stderr:\n%s", code, ExitFailed, stderr)
	}
	if _, err := schema.ValidateLines(out.String()); err != nil {
		t.Errorf("--json against docs/events.schema.json: %v", err)
	}
	var sum struct {
		Kind  string
		Hosts []struct {
			Name  string
			Steps []struct {
				Name, Host, State, Error string
				Duration                 float64 `json:"duration_seconds"`
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	if err := json.Unmarshal([]byte(last), &sum); err != nil || sum.Kind != "summary" || len(sum.Hosts) != 2 {
		t.Fatalf("summary %q: %v", last, err)
	}
	for _, h := range sum.Hosts {
		var failed []string
		for _, s := range h.Steps {
			if s.Host != h.Name || strings.Contains(s.Name, "/") {
				t.Errorf("host %s: step %q on host %q", h.Name, s.Name, s.Host)
			}
			if s.State != "failed" {
				continue
			}
			failed = append(failed, s.Name)
			if !strings.Contains(s.Error, "host "+h.Name+": step agents: apply: timed out after 1h30m0s") || s.Duration < 90*60 {
				t.Errorf("host %s: agents ended %q after %.0fs, want the 90m limit", h.Name, s.Error, s.Duration)
			}
		}
		if !slices.Equal(failed, []string{"agents"}) {
			t.Errorf("host %s: failed steps %v, want agents alone", h.Name, failed)
		}
	}
}
