package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/lock"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
	"xenlab/localrc"
	"xenlab/steps"
)

// The crash-point sweep (issue 16.1): the xenlab binary is killed with
// SIGKILL right after the simulated xapi answered its Nth call (when its
// next call arrives, which is dropped unmade), for every N of `up`,
// `reset` and `down`; after each kill the same command run again must exit
// 0 (verify passing, for up and reset), and after down the host must be
// as it was before the lab: no object of the lab's (tagged or not), no lock
// claim, no bridge or port in dom0 that a network or running VIF does not
// explain.
//
// The simulator runs in this process (its hook kills the run), so it
// stays up across the kills; it serves on the model switch: the kill
// points are xapi's calls, which real Open vSwitch does not change.
//
// By default a sample runs: one point per step of up that makes xapi
// calls, up's checkpoint and clone, reset's revert, and a few of reset
// and down. XENLAB_CRASH_SWEEP=full sweeps every N of the three commands
// (docs/troubleshooting.md has the count of points and the time).

// crashPoint is where a run is killed: when the call after its nth
// arrives (numbered points, n >= 0), or after the occ-th call of method
// (before: when that call arrives, which is not made).
type crashPoint struct {
	n      int
	method string
	occ    int
	before bool
}

// never is the point of a run that is not killed.
var never = crashPoint{n: -1}

// after is the numbered point n.
func after(n int) crashPoint { return crashPoint{n: n} }

// afterCall and beforeCall are points by method.
func afterCall(method string, occ int) crashPoint { return crashPoint{n: -1, method: method, occ: occ} }
func beforeCall(method string, occ int) crashPoint {
	return crashPoint{n: -1, method: method, occ: occ, before: true}
}

func (p crashPoint) String() string {
	switch {
	case p.method != "" && p.before:
		return fmt.Sprintf("when %s #%d arrives", p.method, p.occ)
	case p.method != "":
		return fmt.Sprintf("after %s #%d", p.method, p.occ)
	}
	return fmt.Sprintf("after call %d", p.n)
}

// xcall is one xapi call of a watched run and the steps running when it
// arrived (from the run's --json events).
type xcall struct {
	method string
	steps  string
}

// crashHost is the simulated host and the xenlab run it watches.
type crashHost struct {
	t    *testing.T
	sh   *sim.Host
	lab  string
	cfg  *localrc.Config
	host *hosts.Host // the test's own connection, for its checks

	mu      sync.Mutex
	run     *crashRun // the run whose calls are counted; nil between runs
	killed  bool      // the run was killed: its calls still on the way are dropped
	kill    crashPoint
	armed   bool // kill at the next call
	methods map[string]int
}

// crashRun is one run of the xenlab binary with its --json events.
type crashRun struct {
	cmd      *exec.Cmd
	stderr   strings.Builder
	mu       sync.Mutex
	events   []string
	running  map[string]bool
	calls    []xcall
	killedAt xcall // the call the kill came with (dropped unmade)
	done     chan struct{}
}

// stepsNow names the steps running; the caller holds r.mu.
func (r *crashRun) stepsNow() string {
	var s []string
	for k := range r.running {
		s = append(s, k)
	}
	sort.Strings(s)
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "+")
}

// fault is the simulator's hook: xenlab's calls (its client's User-Agent)
// are counted, and the run is killed when the call after its kill point
// arrives; a guest's calls (domU's rootwrap) go on.
func (c *crashHost) fault(ua string, _ int64, method string) *xapid.Fault {
	if ua != "xenlab" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return &xapid.Fault{Drop: true}
	}
	r := c.run
	if r == nil {
		return nil // the test's own reads
	}
	c.methods[method]++
	k := c.kill
	if c.armed || (k.before && k.method == method && c.methods[method] == k.occ) {
		// SIGKILL: no deferred function, no cleanup, no lock release.
		r.cmd.Process.Signal(syscall.SIGKILL)
		c.killed = true
		r.mu.Lock()
		r.killedAt = xcall{method, r.stepsNow()}
		r.mu.Unlock()
		return &xapid.Fault{Drop: true}
	}
	r.mu.Lock()
	r.calls = append(r.calls, xcall{method, r.stepsNow()})
	n := len(r.calls)
	r.mu.Unlock()
	if (k.n >= 0 && n == k.n) || (!k.before && k.method == method && c.methods[method] == k.occ) {
		c.armed = true
	}
	return nil
}

// start runs `xenlab <args> -f lab --json`, to be killed at p (the zero
// point: never).
func (c *crashHost) start(p crashPoint, args ...string) *crashRun {
	c.t.Helper()
	r := &crashRun{running: map[string]bool{}, done: make(chan struct{})}
	r.cmd = exec.Command(xenlab, append(args, "-f", c.lab, "--json")...)
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	// Started under c.mu: fault, which reads r.cmd.Process under it,
	// sees the started process (go test -race saw the read race with
	// Start's write).
	c.mu.Lock()
	c.run, c.killed, c.armed, c.kill, c.methods = r, false, p.n == 0, p, map[string]int{}
	err = r.cmd.Start()
	c.mu.Unlock()
	if err != nil {
		c.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct{ Step, Kind string }
			json.Unmarshal(sc.Bytes(), &ev)
			r.mu.Lock()
			r.events = append(r.events, sc.Text())
			switch ev.Kind {
			case "started":
				r.running[ev.Step] = true
			case "done", "failed", "canceled", "skipped":
				delete(r.running, ev.Step)
			}
			r.mu.Unlock()
		}
		r.cmd.Wait()
		close(r.done)
	}()
	return r
}

// wait waits for the run's end and says whether it was killed and how
// it exited.
func (c *crashHost) wait(r *crashRun) (killed bool, code int) {
	c.t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.done
		c.t.Fatalf("%v did not end within 5 minutes", r.cmd.Args[1:])
	}
	c.mu.Lock()
	killed = c.killed
	c.run, c.killed, c.armed = nil, false, false
	c.mu.Unlock()
	c.host.Changed()
	return killed, r.cmd.ProcessState.ExitCode()
}

// ok runs a command unkilled; it must exit 0.
func (c *crashHost) ok(what string, args ...string) *crashRun {
	c.t.Helper()
	r := c.start(never, args...)
	if _, code := c.wait(r); code != 0 {
		c.t.Fatalf("%s: xenlab %s exited %d:\n%s\n%s", what, args[0], code, r.tail(), r.stderr.String())
	}
	return r
}

func (r *crashRun) tail() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	if len(ev) > 40 {
		ev = ev[len(ev)-40:]
	}
	return strings.Join(ev, "\n")
}

func (r *crashRun) callList() []xcall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// inventory reads the host afresh.
func (c *crashHost) inventory() *hosts.Snapshot {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.host.Changed()
	inv, err := c.host.Inventory(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return inv
}

// hostState is what the sweep compares: the objects on the host (by
// class and uuid), the lock's claims and dom0's bridges and ports.
type hostState struct {
	objects map[string]string // "VM <uuid>" -> a description
	claims  []string
	ports   map[string]bool // "bridge" or "bridge/port"
}

func (c *crashHost) state() hostState {
	c.t.Helper()
	inv := c.inventory()
	s := hostState{objects: map[string]string{}, ports: map[string]bool{}}
	tagged := func(oc map[string]string) string {
		if oc[steps.TagLab] != "" {
			return " tagged " + oc[steps.TagLab] + "/" + oc[steps.TagRole]
		}
		return ""
	}
	for _, v := range inv.VMs {
		if v.IsControlDomain {
			continue
		}
		s.objects["VM "+v.UUID] = fmt.Sprintf("VM %q template=%v snapshot=%v %s%s", v.NameLabel, v.IsATemplate, v.IsASnapshot, v.PowerState, tagged(v.OtherConfig))
	}
	for _, n := range inv.Networks {
		s.objects["network "+n.UUID] = fmt.Sprintf("network %q bridge %s%s", n.NameLabel, n.Bridge, tagged(n.OtherConfig))
	}
	for _, v := range inv.VIFs {
		s.objects["VIF "+v.UUID] = fmt.Sprintf("VIF device %s of %q%s", v.Device, inv.VMs[v.VM].NameLabel, tagged(v.OtherConfig))
	}
	for _, v := range inv.VDIs {
		s.objects["VDI "+v.UUID] = fmt.Sprintf("VDI %q%s", v.NameLabel, tagged(v.OtherConfig))
	}
	for _, p := range inv.Pools {
		for k := range p.OtherConfig {
			if strings.HasPrefix(k, lock.KeyPrefix) {
				s.claims = append(s.claims, k)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := c.host.Dom0(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := d.Run(ctx, `for b in $(ovs-vsctl list-br); do echo "$b"; for p in $(ovs-vsctl list-ports "$b"); do echo "$b/$p"; done; done`)
	if err != nil {
		c.t.Fatalf("dom0's bridges: %v %s", err, res.Stderr)
	}
	for _, l := range strings.Fields(string(res.Stdout)) {
		s.ports[l] = true
	}
	// A port of a running VM's attached VIF is explained.
	for _, v := range inv.VIFs {
		vm := inv.VMs[v.VM]
		if v.CurrentlyAttached && vm.PowerState == "Running" {
			delete(s.ports, inv.Networks[v.Network].Bridge+"/vif"+strconv.FormatInt(vm.Domid, 10)+"."+v.Device)
		}
	}
	return s
}

// leftovers says how after differs from before: objects, claims, bridges
// and ports that were not there.
func (before hostState) leftovers(after hostState) []string {
	var out []string
	for k, d := range after.objects {
		if _, ok := before.objects[k]; !ok {
			out = append(out, "left: "+d)
		}
	}
	for k, d := range before.objects {
		if _, ok := after.objects[k]; !ok {
			out = append(out, "gone: "+d)
		}
	}
	for _, k := range after.claims {
		out = append(out, "lock claim "+k)
	}
	for p := range after.ports {
		if !before.ports[p] {
			out = append(out, "dom0 bridge/port "+p)
		}
	}
	sort.Strings(out)
	return out
}

// bootInstance boots an instance through the stand-in's nova in domU (as
// nova's XenAPI driver leaves one: nova_uuid, a VIF on the integration
// network), for reset's nova-instances step to remove.
func (c *crashHost) bootInstance() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := c.host.DialGuest(ctx, "domU", steps.DomUAddress(c.inventory(), c.cfg), c.cfg.DomU.SSHUser, c.cfg.DomU.Password)
	if err != nil {
		c.t.Fatal(err)
	}
	defer g.Close()
	if res, err := g.Run(ctx, steps.DevstackDir+"/bin/nova-boot-standin crash-instance"); err != nil || res.ExitStatus != 0 {
		c.t.Fatalf("nova-boot-standin: %v %s %s", err, res.Stdout, res.Stderr)
	}
}

// labVMs checks the lab after an up or reset that exited 0: one domU, one
// clean snapshot of it, nothing else of the lab's among the VMs.
func (c *crashHost) labVMs(what string) {
	c.t.Helper()
	inv := c.inventory()
	var domUs, snaps, other []string
	for _, v := range inv.VMs {
		if v.OtherConfig[steps.TagLab] != c.cfg.Lab {
			if v.NameLabel == c.cfg.DomU.Name {
				other = append(other, fmt.Sprintf("an untagged VM named %q (template %v)", v.NameLabel, v.IsATemplate))
			}
			continue
		}
		switch {
		case v.OtherConfig[steps.TagRole] == steps.RoleDomU && !v.IsATemplate && !v.IsASnapshot:
			domUs = append(domUs, v.UUID)
		case v.OtherConfig[steps.TagRole] == steps.RoleSnapshot && v.IsASnapshot:
			snaps = append(snaps, v.UUID)
		default:
			other = append(other, fmt.Sprintf("%q role %s template %v snapshot %v", v.NameLabel, v.OtherConfig[steps.TagRole], v.IsATemplate, v.IsASnapshot))
		}
	}
	if len(domUs) != 1 || len(snaps) != 1 || len(other) != 0 {
		c.t.Errorf("%s: the lab has %d domU, %d clean snapshots (want 1 and 1) and more: %v", what, len(domUs), len(snaps), other)
	}
}

func startCrashHost(t *testing.T) *crashHost {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &crashHost{t: t}
	sh, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: func(string, ...any) {}, FaultFrom: c.fault})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	needStandIn(t, sh.Endpoints().Isolation)
	c.sh, c.lab = sh, sh.Endpoints().LabFile
	if c.cfg, err = localrc.Load(c.lab); err != nil {
		t.Fatal(err)
	}
	c.host = hosts.New(c.cfg.Hosts[0], hosts.Options{})
	t.Cleanup(func() { c.host.Close(context.Background()) })
	return c
}

// logCallTrace logs the calls of up, up again, reset and down with the
// steps running at each: what a crash point can name. TestCrashPoints
// runs it first with XENLAB_CRASH_TRACE=1 (go test -v to see it).
func logCallTrace(t *testing.T, c *crashHost) {
	t.Helper()
	for _, cmd := range [][]string{{"up"}, {"up"}, {"reset"}, {"down", "--yes"}} {
		start := time.Now()
		r := c.ok("trace", cmd...)
		calls := r.callList()
		t.Logf("xenlab %s: %d calls in %s", cmd[0], len(calls), time.Since(start).Round(time.Millisecond))
		for i, x := range calls {
			t.Logf("  %2d %-40s %s", i+1, x.method, x.steps)
		}
	}
}

// crashSweep is the points of one command still to run.
type crashSweep struct {
	cmd    []string
	points []crashPoint // nil with numbered: every n from 0
	next   int
	done   bool
	count  int // points killed
	chain  bool
}

// pending returns the next point, false when the sweep is over.
func (s *crashSweep) pending() (crashPoint, bool) {
	if s.done {
		return never, false
	}
	if s.points == nil {
		return after(s.next), true
	}
	if s.next >= len(s.points) {
		return never, false
	}
	return s.points[s.next], true
}

// step kills the command at its next point and runs it again: unkilled
// it must exit 0. In a chain the run again is killed at the next point
// (each resumes from what the one before left), and only the last runs
// whole. With no point left the command runs once, whole; a numbered
// sweep whose run ends unkilled has had all its points. check is called
// after each run that must leave the lab whole.
func (c *crashHost) step(s *crashSweep, check func(what string)) {
	c.t.Helper()
	p, ok := s.pending()
	if !ok {
		c.ok("plain", s.cmd...)
		check("plain " + s.cmd[0])
		return
	}
	last := p
	for ok {
		last = p
		r := c.start(p, s.cmd...)
		killed, code := c.wait(r)
		s.next++
		if !killed {
			if s.points != nil {
				c.t.Errorf("xenlab %s was not killed %s (never reached; exit %d): the sample misses that point", s.cmd[0], p, code)
			}
			s.done = s.points == nil
			if code != 0 {
				c.t.Fatalf("xenlab %s (not killed, %s) exited %d:\n%s\n%s", s.cmd[0], p, code, r.tail(), r.stderr.String())
			}
			check(fmt.Sprintf("xenlab %s run whole", s.cmd[0]))
			return
		}
		s.count++
		c.t.Logf("xenlab %s killed %s (%d calls made; the next, %s in %s, dropped)", s.cmd[0], p, len(r.callList()), r.killedAt.method, r.killedAt.steps)
		if p, ok = s.pending(); !s.chain || !ok {
			break
		}
	}
	r := c.start(never, s.cmd...)
	if _, code := c.wait(r); code != 0 {
		c.t.Fatalf("xenlab %s run again after the kill %s exited %d:\n%s\n%s", s.cmd[0], last, code, r.tail(), r.stderr.String())
	}
	check(fmt.Sprintf("xenlab %s after the kill %s", s.cmd[0], last))
}

// TestCrashPoints kills up, reset and down at their xapi calls (see the
// top of this file). By default a sample, each command's points in a
// chain; with XENLAB_CRASH_SWEEP=full every point, each on its own.
func TestCrashPoints(t *testing.T) {
	t.Parallel() // a simulated host of its own
	full := os.Getenv("XENLAB_CRASH_SWEEP") == "full"
	c := startCrashHost(t)
	if os.Getenv("XENLAB_CRASH_TRACE") != "" {
		logCallTrace(t, c)
	}
	before := c.state()
	up := &crashSweep{cmd: []string{"up"}}
	reset := &crashSweep{cmd: []string{"reset"}}
	down := &crashSweep{cmd: []string{"down", "--yes"}}
	if !full {
		up.chain, reset.chain, down.chain = true, true, true
		up.points = []crashPoint{
			afterCall("pool.add_to_other_config", 1),     // preflight: the lock claimed
			afterCall("network.create", 1),               // networks: one of three
			beforeCall("VM.clone", 1),                    // domU: the clone recorded, not made
			afterCall("VM.clone", 1),                     // domU: the clone, untagged and a template
			afterCall("VM.add_to_other_config", 1),       // domU: tagged with the lab only
			afterCall("VM.add_to_other_config", 2),       // domU: a tagged clone still a template
			afterCall("VM.set_is_a_template", 1),         // domU: a VM, not named yet
			afterCall("VM.remove_from_xenstore_data", 2), // domU: its interfaces file not given yet (the host key's is #1)
			afterCall("VIF.create", 2),                   // domU: half its VIFs
			afterCall("VM.start", 1),                     // boot: started, no address yet (a cold up reboots domU no more)
			beforeCall("VM.checkpoint", 1),               // agents and verify done
			afterCall("VM.checkpoint", 1),                // snapshot: the checkpoint tagged domu
			afterCall("VM.remove_from_other_config", 1),  // snapshot: the checkpoint without a role
			// The release of the lock; the run before was killed, so
			// this run's first removal took over its claim.
			beforeCall("pool.remove_from_other_config", 2),
		}
		reset.points = []crashPoint{
			afterCall("VM.hard_shutdown", 1), // nova-instances: the instance stopped
			afterCall("VDI.destroy", 1),      // nova-instances: its disk gone
			beforeCall("VM.revert", 1),       // nova's instances gone
			afterCall("VM.revert", 1),        // domU Suspended, reverted to the checkpoint
			beforeCall("VM.resume", 1),
			afterCall("VM.resume", 1),
			beforeCall("pool.remove_from_other_config", 2),
		}
		down.points = []crashPoint{
			afterCall("VDI.destroy", 1),      // snapshot: one of its disks gone
			afterCall("VM.destroy", 1),       // snapshot gone
			afterCall("VM.hard_shutdown", 1), // domU halted
			afterCall("VDI.destroy", 1),      // domU without its disk
			afterCall("network.destroy", 1),  // one network gone
			beforeCall("pool.remove_from_other_config", 2),
		}
	}
	start := time.Now()
	afterDown := func(what string) {
		if left := before.leftovers(c.state()); len(left) > 0 {
			t.Errorf("%s: the host is not as before the lab:\n  %s", what, strings.Join(left, "\n  "))
		}
	}
	for range 200 {
		_, upLeft := up.pending()
		_, resetLeft := reset.pending()
		_, downLeft := down.pending()
		if !upLeft && !resetLeft && !downLeft {
			break
		}
		c.step(up, c.labVMs)
		if t.Failed() {
			return
		}
		if resetLeft {
			c.bootInstance() // each reset point finds one of nova's instances to remove
			c.step(reset, c.labVMs)
		}
		if t.Failed() {
			return
		}
		if !full && resetLeft {
			// The ping-pong: a reset killed after its revert
			// leaves domU Suspended; up resumes it (and reset works).
			r := c.start(afterCall("VM.revert", 1), "reset")
			if killed, code := c.wait(r); !killed {
				t.Fatalf("reset was not killed after its revert (exit %d)", code)
			}
			c.ok("up after a reset killed after its revert", "up")
			c.labVMs("up after a reset killed after its revert")
			c.ok("reset after that up", "reset")
		}
		c.step(down, afterDown)
		if t.Failed() {
			return
		}
	}
	t.Logf("killed up at %d points, reset at %d, down at %d, in %s", up.count, reset.count, down.count, time.Since(start).Round(time.Second))
}
