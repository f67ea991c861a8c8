package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fleetLab builds, for each host, the fake steps of specs as newLab reads
// them, each node on its host; l.steps has them as "<host>/<step>".
func fleetLab(hosts []string, specs ...string) *lab {
	l := &lab{log: &callLog{}, steps: map[string]*fakeStep{}}
	for _, h := range hosts {
		for _, spec := range specs {
			name, deps, _ := strings.Cut(spec, ":")
			s := &fakeStep{name: name, host: h, log: l.log}
			if deps != "" {
				s.deps = strings.Split(deps, ",")
			}
			l.steps[h+"/"+name] = s
			l.list = append(l.list, Node{Step: s, Host: h})
		}
	}
	return l
}

// gauge counts the steps running now, per host and overall, and keeps the
// peaks.
type gauge struct {
	mu                sync.Mutex
	perHost           map[string]int
	peakHost          map[string]int
	all, peakAll      int
	hostsNow, peakHst int
	reached           chan struct{} // closed once all reaches want
	want              int
	closed            bool
}

func newGauge(want int) *gauge {
	return &gauge{perHost: map[string]int{}, peakHost: map[string]int{}, reached: make(chan struct{}), want: want}
}

func (g *gauge) enter(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perHost[host] == 0 {
		g.hostsNow++
		g.peakHst = max(g.peakHst, g.hostsNow)
	}
	g.perHost[host]++
	g.peakHost[host] = max(g.peakHost[host], g.perHost[host])
	g.all++
	g.peakAll = max(g.peakAll, g.all)
	if g.all == g.want && !g.closed {
		g.closed = true
		close(g.reached)
	}
}

func (g *gauge) leave(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.perHost[host]--
	if g.perHost[host] == 0 {
		g.hostsNow--
	}
	g.all--
}

// waitingSteps makes every step of l wait, like a guest booting, until
// the gauge has seen want steps running at once (or the bound of
// waitOrFail, which fails the step).
func waitingSteps(l *lab, g *gauge) {
	for name, s := range l.steps {
		host, _, _ := strings.Cut(name, "/")
		s.apply = func(ctx context.Context, _ Output) error {
			g.enter(host)
			defer g.leave(host)
			return waitOrFail(g.reached, fmt.Sprintf("%d steps running at once", g.want))
		}
	}
}

var fourHosts = []string{"xs1", "xs2", "xs3", "xs4"}

// TestFleetParallelIsPerHost: --parallel bounds each host's steps, not the
// fleet's: 4 hosts of 6 independent waiting steps with Parallel 2 run 8 at
// once, never more than 2 of one host. (With the old global bound the
// peak was 2 and the steps gave up waiting.)
func TestFleetParallelIsPerHost(t *testing.T) {
	l := fleetLab(fourHosts, "a", "b", "c", "d", "e", "f")
	g := newGauge(8)
	waitingSteps(l, g)
	rep, err := mustNew(t, l.list, Options{Parallel: 2, Heartbeat: -1}).Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Count(StateDone); n != 24 {
		t.Fatalf("%d steps done, want 24", n)
	}
	if g.peakAll != 8 {
		t.Errorf("peak %d steps at once over the fleet, want 8", g.peakAll)
	}
	for _, h := range fourHosts {
		if g.peakHost[h] != 2 {
			t.Errorf("host %s: peak %d steps at once, want 2", h, g.peakHost[h])
		}
	}
}

// TestFleetMaxHosts: MaxHosts bounds the hosts at work at once; a host
// keeps its slot until all its steps ended, and the others still all run.
func TestFleetMaxHosts(t *testing.T) {
	l := fleetLab(fourHosts, "a", "b:a", "c:b")
	g := newGauge(2)
	waitingSteps(l, g)
	rep, err := mustNew(t, l.list, Options{Parallel: 4, MaxHosts: 2, Heartbeat: -1}).Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Count(StateDone); n != 12 {
		t.Fatalf("%d steps done, want 12", n)
	}
	if g.peakHst != 2 {
		t.Errorf("peak %d hosts at work at once, want 2", g.peakHst)
	}
	// A host, once started, finishes before a third one starts: in the
	// call log each host's steps are never interleaved with more than
	// one other host's.
	seen := map[string]bool{}
	done := map[string]int{}
	for _, c := range l.log.list() {
		host, _, _ := strings.Cut(strings.TrimPrefix(c, "apply:"), "/")
		seen[host] = true
		done[host]++
		atWork := 0
		for h := range seen {
			if done[h] < 3 || h == host {
				atWork++
			}
		}
		if atWork > 2 {
			t.Fatalf("%s started with %d hosts at work: %v", c, atWork, l.log.list())
		}
	}
}

// TestFleetOneFailedHost: a host's failure skips only its own dependents;
// the other hosts finish, and the error, the report and the summary name
// the host that failed.
func TestFleetOneFailedHost(t *testing.T) {
	hosts := []string{"xs1", "xs2", "xs3"}
	l := fleetLab(hosts, "s1", "s2:s1", "s3:s2")
	l.steps["xs2/s2"].apply = func(context.Context, Output) error { return errors.New("boom") }
	rec := &recorder{}
	rep, err := mustNew(t, l.list, Options{Parallel: 1, Renderer: rec, Heartbeat: -1}).Apply(context.Background())
	var fe *FleetError
	if !errors.As(err, &fe) || fe.Hosts != 3 || !slices.Equal(fe.Failed, []string{"xs2"}) {
		t.Fatalf("err %v (%#v), want a FleetError naming xs2 of 3", err, fe)
	}
	var se *StepError
	if !errors.As(err, &se) || se.Step != "s2" || se.Host != "xs2" || ExitCode(err) != ExitFailure {
		t.Fatalf("err %v: step error %v, exit %d", err, se, ExitCode(err))
	}
	want := map[string]State{
		"xs1/s1": StateDone, "xs1/s2": StateDone, "xs1/s3": StateDone,
		"xs2/s1": StateDone, "xs2/s2": StateFailed, "xs2/s3": StateSkipped,
		"xs3/s1": StateDone, "xs3/s2": StateDone, "xs3/s3": StateDone,
	}
	if got := states(rep); !maps.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if got := rep.FailedHosts(); !slices.Equal(got, []string{"xs2"}) {
		t.Errorf("failed hosts %v", got)
	}
	if len(rep.Hosts) != 3 || rep.Hosts[0].Name != "xs1" || rep.Hosts[0].Err != nil || rep.Hosts[1].Err == nil {
		t.Errorf("hosts %+v", rep.Hosts)
	}
	sub := rep.ForHost("xs2")
	if sub.Outcome() != "failed" || len(sub.Steps) != 3 || sub.Steps[1].Host != "xs2" {
		t.Errorf("xs2's report: %s, %+v", sub.Outcome(), sub.Steps)
	}
	if s := rep.Summary(); !strings.HasPrefix(s, "apply failed: 1 of 3 hosts failed (xs2): 7 done, 1 failed (xs2/s2), 1 not run") {
		t.Errorf("summary %q", s)
	}
	if ev, ok := rec.find("xs3/s1", EventDone); !ok || ev.Host != "xs3" {
		t.Errorf("xs3/s1's done event %+v", ev)
	}
}

// TestFleetCleanupOnlyFailedHosts: with OnError=cleanup, only the hosts
// that failed are undone; a host that came up stays up.
func TestFleetCleanupOnlyFailedHosts(t *testing.T) {
	l := fleetLab([]string{"xs1", "xs2"}, "s1", "s2:s1")
	l.steps["xs2/s2"].apply = func(context.Context, Output) error { return errors.New("boom") }
	rep, _ := mustNew(t, l.list, Options{Parallel: 1, OnError: Cleanup, Heartbeat: -1}).Apply(context.Background())
	var undone []string
	for _, c := range l.log.list() {
		if name, ok := strings.CutPrefix(c, "destroy:"); ok {
			undone = append(undone, name)
		}
	}
	if !slices.Equal(undone, []string{"xs2/s2", "xs2/s1"}) {
		t.Fatalf("destroyed %v, want xs2's steps only, newest first", undone)
	}
	if len(rep.ForHost("xs2").Cleanup) != 2 || len(rep.ForHost("xs1").Cleanup) != 0 {
		t.Errorf("cleanup %+v", rep.Cleanup)
	}
}

// TestFleetHostsAreIndependent: a step's dependencies are its own host's
// steps: a name only another host has is unknown, and the same name on
// two hosts is two steps.
func TestFleetHostsAreIndependent(t *testing.T) {
	l := fleetLab([]string{"xs1", "xs2"}, "s1")
	l.steps["xs2/s1"].name = "s2"
	l.steps["xs1/s1"].deps = []string{"s2"}
	_, err := New(l.list, Options{})
	if err == nil || !strings.Contains(err.Error(), `step "xs1/s1" depends on unknown step "s2" on host xs1`) {
		t.Fatalf("err %v", err)
	}
	if _, err := New(fleetLab([]string{"xs1", "xs2"}, "s1", "s1").list, Options{}); err == nil ||
		!strings.Contains(err.Error(), `duplicate step name "s1" on host xs1 (steps #1 and #2)`) {
		t.Fatalf("a host's duplicate: %v", err)
	}
	if _, err := New(l.list, Options{MaxHosts: -1}); ExitCode(err) != ExitUsage {
		t.Fatalf("MaxHosts -1: %v", err)
	}
}

// laneRecorder records the lanes a fleet's phases begin with.
type laneRecorder struct {
	recorder
	lanes map[Phase][]Lane
}

func (r *laneRecorder) BeginLanes(phase Phase, lanes []Lane) {
	if r.lanes == nil {
		r.lanes = map[Phase][]Lane{}
	}
	r.lanes[phase] = lanes
}

// TestFleetLanes: a renderer that shows lanes gets one per host, in the
// lab's order in either phase, each with that host's steps; the destroy
// report too lists the hosts in the lab's order.
func TestFleetLanes(t *testing.T) {
	l := fleetLab([]string{"xs1", "xs2"}, "s1", "s2:s1")
	rec := &laneRecorder{}
	e := mustNew(t, l.list, Options{Renderer: Multi(rec), Heartbeat: -1})
	if _, err := e.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Destroy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, st := range rep.Steps {
		order = append(order, st.Label())
	}
	if want := []string{"xs1/s2", "xs1/s1", "xs2/s2", "xs2/s1"}; !slices.Equal(order, want) {
		t.Errorf("destroy report order %v, want %v (hosts in the lab's order)", order, want)
	}
	want := map[Phase]string{
		PhaseApply:   "xs1:s1,s2 xs2:s1,s2", // each lane's steps without the host
		PhaseDestroy: "xs1:s2,s1 xs2:s2,s1",
	}
	for phase, w := range want {
		var parts []string
		for _, ln := range rec.lanes[phase] {
			parts = append(parts, ln.Host+":"+strings.Join(ln.Steps, ","))
		}
		if got := strings.Join(parts, " "); got != w {
			t.Errorf("%s lanes %q, want %q", phase, got, w)
		}
	}
	if got := e.Hosts(); !slices.Equal(got, []string{"xs1", "xs2"}) {
		t.Errorf("Hosts() = %v", got)
	}
}

// TestFleetInterrupted: an interruption fails only the hosts it cut
// short; a host that had finished is ok, and the exit code is the
// interruption's.
func TestFleetInterrupted(t *testing.T) {
	l := fleetLab([]string{"xs1", "xs2"}, "s1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.steps["xs2/s1"].apply = func(ctx context.Context, _ Output) error {
		<-ctx.Done()
		return ctx.Err()
	}
	rec := &recorder{onEv: func(ev Event) {
		if ev.Label() == "xs1/s1" && ev.Kind == EventDone {
			cancel()
		}
	}}
	rep, err := mustNew(t, l.list, Options{Renderer: rec, Heartbeat: -1}).Apply(ctx)
	if ExitCode(err) != ExitInterrupted || !slices.Equal(rep.FailedHosts(), []string{"xs2"}) {
		t.Fatalf("err %v (exit %d), failed hosts %v", err, ExitCode(err), rep.FailedHosts())
	}
	if rep.ForHost("xs1").Outcome() != "ok" || rep.ForHost("xs2").Outcome() != "interrupted" {
		t.Errorf("outcomes xs1 %s, xs2 %s", rep.ForHost("xs1").Outcome(), rep.ForHost("xs2").Outcome())
	}
	if s := rep.Summary(); !strings.HasPrefix(s, "apply interrupted: 1 of 2 hosts failed (xs2): 1 done, 1 canceled (xs2/s1)") {
		t.Errorf("summary %q", s)
	}
}

// TestFleetCleanupHostsAtOnce: failed hosts are cleaned up at the same
// time, each one step at a time, and the report lists them host by host.
func TestFleetCleanupHostsAtOnce(t *testing.T) {
	l := fleetLab([]string{"xs1", "xs2"}, "s1", "s2:s1", "s3:s2")
	g := newGauge(2)
	for _, h := range []string{"xs1", "xs2"} {
		l.steps[h+"/s3"].apply = func(context.Context, Output) error { return errors.New("boom") }
		for _, n := range []string{"s1", "s2", "s3"} {
			l.steps[h+"/"+n].destroy = func(context.Context, Output) error {
				g.enter(h)
				defer g.leave(h)
				return waitOrFail(g.reached, "both hosts cleaning up at once")
			}
		}
	}
	rep, _ := mustNew(t, l.list, Options{OnError: Cleanup, Heartbeat: -1}).Apply(context.Background())
	var order []string
	for _, s := range rep.Cleanup {
		order = append(order, s.Label()+":"+string(s.State))
	}
	want := []string{"xs1/s3:done", "xs1/s2:done", "xs1/s1:done", "xs2/s3:done", "xs2/s2:done", "xs2/s1:done"}
	if !slices.Equal(order, want) {
		t.Fatalf("cleanup %v, want %v", order, want)
	}
	if g.peakHst != 2 || g.peakHost["xs1"] != 1 || g.peakHost["xs2"] != 1 {
		t.Errorf("peaks: %d hosts, xs1 %d, xs2 %d steps; want 2, 1, 1", g.peakHst, g.peakHost["xs1"], g.peakHost["xs2"])
	}
}
