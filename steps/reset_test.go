package steps

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// TestResetOnTheSimulatedHost: up takes one clean checkpoint of domU;
// an instance booted through the stand-in's nova is removed by reset with
// its disks, while a VM of the user's on the integration network (no
// nova_uuid) and one with nova's marker elsewhere are untouched; domU is
// reverted and resumed, the placeholder is back on 4095 and verify passes;
// a second up plans nothing; a second reset does not pile up disks; an up
// that finds two snapshots of the lab's leaves one; down removes it with
// the rest.
func TestResetOnTheSimulatedHost(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLabOVS(t, ovs.ModeModel)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, ctx, BringUp(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	if out := output(rep); !strings.Contains(out, "snapshot: checkpoint") {
		t.Fatalf("up took no checkpoint:\n%s", out)
	}
	inv := inventory(t, ctx, host)
	domU := findDomU(inv, cfg.Lab)
	snaps := labSnapshots(inv, cfg.Lab, domU)
	if len(snaps) != 1 || inv.VMs[snaps[0]].PowerState != xapi.PowerSuspended || inv.VMs[snaps[0]].SuspendVDI.IsNull() {
		t.Fatalf("snapshots %v", snaps)
	}
	intNet, intBr, err := viewOf(inv, cfg).integrationBridge()
	if err != nil {
		t.Fatal(err)
	}
	port := placeholderPort(t, ctx, host, cfg.Lab)

	// The user's own VMs: one on the integration network without nova's
	// marker, one with nova's marker on another network.
	tpl := findTemplateByName(t, ctx, c, cfg.DomU.Template)
	mine := userVM(t, ctx, c, tpl, "my own VM", intNet, nil)
	mgmt, err := managementNetwork(inv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	otherNova := userVM(t, ctx, c, tpl, "another cloud's instance", mgmt, map[string]string{NovaUUIDKey: "0000-other"})
	vdisBefore := vdiSet(t, ctx, c)

	// Boot an instance through the stand-in's nova, in domU.
	addr := net.JoinHostPort(guestIP(inv, domU, cfg.DomU.Devices.Management), strconv.Itoa(cfg.DomU.SSHPort))
	g, err := host.DialGuest(ctx, "domU", addr, cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(ctx, DevstackDir+"/bin/nova-boot-standin test-instance")
	g.Close()
	if err != nil || res.ExitStatus != 0 {
		t.Fatalf("nova-boot-standin: %v %s %s", err, res.Stdout, res.Stderr)
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) != 3 {
		t.Fatalf("nova-boot-standin printed %q", res.Stdout)
	}
	instance, err := vmByUUID(ctx, c, f[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(vdiSet(t, ctx, c)) <= len(vdisBefore) {
		t.Fatal("the instance has no disk")
	}

	for i := range 2 {
		rh := hosts.New(host.Config, hosts.Options{})
		start := time.Now()
		rep = run(t, ctx, Reset(cfg, rh), false)
		counts := rh.Counters()
		rh.Close(ctx)
		if rep.Err != nil {
			t.Fatalf("reset %d: %v\n%s", i, rep.Err, output(rep))
		}
		t.Logf("reset %d took %v: %d xapi round trips, %d ssh handshakes\n%s", i, time.Since(start).Round(time.Millisecond),
			counts.XAPIRoundTrips, counts.SSHHandshakes, output(rep))
		for _, st := range rep.Steps {
			t.Logf("  %s %s", st.Name, st.Duration)
		}
		out := output(rep)
		if i == 0 && !strings.Contains(out, "destroyed nova's instance") {
			t.Errorf("reset removed no instance:\n%s", out)
		}
		if !strings.Contains(out, "resumed domU") || !strings.Contains(out, "verify: dom0 "+intBr+": the placeholder's port vif") || !strings.Contains(out, " is on VLAN 4095") {
			t.Errorf("reset %d did not resume domU and verify the placeholder:\n%s", i, out)
		}
		// The resumed domU is a new domain: its placeholder port has a
		// new name, on VLAN 4095.
		st := placeholderPort(t, ctx, host, cfg.Lab)
		if st.tag != DeadVLAN || st.name == port.name {
			t.Errorf("reset %d: placeholder port %+v (before: %+v)", i, st, port)
		}
		port = st
		if _, err := c.VMGetRecord(ctx, instance); !xapi.HasCode(err, "HANDLE_INVALID") {
			t.Fatalf("the instance is still there: %v", err)
		}
		for _, vm := range []xapi.Ref{mine, otherNova} {
			if _, err := c.VMGetRecord(ctx, vm); err != nil {
				t.Fatalf("the user's VM %s: %v", vm, err)
			}
		}
		if got := vdiSet(t, ctx, c); len(got) != len(vdisBefore) {
			t.Fatalf("reset %d: VDIs %d, want %d (the instance's disks gone, none piled up)", i, len(got), len(vdisBefore))
		}
		if ps, err := c.VMGetPowerState(ctx, domU); err != nil || ps != xapi.PowerRunning {
			t.Fatalf("domU after reset: %v %v", ps, err)
		}
	}

	// A second up plans nothing.
	again := hosts.New(host.Config, hosts.Options{})
	defer again.Close(ctx)
	rep = run(t, ctx, BringUp(cfg, again), false)
	if rep.Err != nil {
		t.Fatalf("up after reset: %v\n%s", rep.Err, output(rep))
	}
	if done := rep.Names(provision.StateDone); !slices.Equal(done, []string{"preflight", "verify"}) {
		t.Errorf("up after reset ran %v, want only preflight and verify\n%s", done, output(rep))
	}

	// The snapshot names the stack.sh run it was taken on; on another
	// run (stack.sh ran again) the step is not done.
	run0 := inventory(t, ctx, again).VMs[snaps[0]].OtherConfig[TagStackRun]
	if !strings.HasPrefix(run0, "stack.sh exited 0 at ") {
		t.Fatalf("the snapshot's %s is %q", TagStackRun, run0)
	}
	gu, err := domUConn(ctx, again, viewOf(inventory(t, ctx, again), cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"stack.sh exited 0 at a later time", run0} {
		if res, err := gu.Run(ctx, "echo '"+run+"' > "+StackMarker); err != nil {
			t.Fatalf("%v %s", err, res.Stderr)
		}
		sn := &snapshot{host: again, lab: cfg}
		if done, err := sn.Check(ctx); err != nil || done != (run == run0) {
			t.Errorf("snapshot of run %q, domU on run %q: done %v (%v), want %v", run0, run, done, err, run == run0)
		}
	}

	// A second snapshot of domU still carrying domU's tags, as a snapshot
	// step interrupted before retagging leaves it: up takes a new one and
	// destroys both, disks and memory images included.
	vdisBefore = vdiSet(t, ctx, c)
	extra, err := c.VMSnapshot(ctx, domU, "interrupted")
	if err != nil {
		t.Fatal(err)
	}
	replace := hosts.New(host.Config, hosts.Options{})
	defer replace.Close(ctx)
	if rep = run(t, ctx, BringUp(cfg, replace), false); rep.Err != nil {
		t.Fatalf("up with two snapshots: %v\n%s", rep.Err, output(rep))
	}
	now := labSnapshots(inventory(t, ctx, host), cfg.Lab, "")
	if len(now) != 1 || now[0] == snaps[0] || now[0] == extra || len(vdiSet(t, ctx, c)) != len(vdisBefore) {
		t.Fatalf("after replacing: snapshots %v (were %v and %s), VDIs %d (were %d)\n%s", now, snaps, extra,
			len(vdiSet(t, ctx, c)), len(vdisBefore), output(rep))
	}

	// A checkpoint of domU on this stack.sh run, still carrying domU's
	// tags, as a snapshot step killed right after its VM.checkpoint
	// leaves it: it is the clean snapshot, tagged so, and the older one
	// goes.
	killed, err := c.VMCheckpoint(ctx, domU, "killed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGuestIP(ctx, domU, "0"); err != nil {
		t.Fatal(err)
	}
	replace.Changed()
	if rep = run(t, ctx, BringUp(cfg, replace), false); rep.Err != nil {
		t.Fatalf("up with a checkpoint not tagged: %v\n%s", rep.Err, output(rep))
	}
	inv = inventory(t, ctx, host)
	if now = labSnapshots(inv, cfg.Lab, ""); len(now) != 1 || now[0] != killed || inv.VMs[killed].OtherConfig[TagRole] != RoleSnapshot ||
		!strings.Contains(output(rep), "taken by a run killed before it tagged it, is the clean snapshot") {
		t.Fatalf("after a checkpoint not tagged: snapshots %v, want only %s tagged %s\n%s", now, killed, RoleSnapshot, output(rep))
	}

	// The user's VM on the integration network keeps that network (and
	// its VIF) through down, which names it; once its VIF is gone, down
	// removes the rest.
	down := hosts.New(host.Config, hosts.Options{})
	defer down.Close(ctx)
	if rep = run(t, ctx, BringUp(cfg, down), true); rep.Err == nil || !strings.Contains(rep.Err.Error(), `"my own VM"`) {
		t.Fatalf("down with the user's VM on the integration network: %v, want an error naming it\n%s", rep.Err, output(rep))
	}
	mineRec, err := c.VMGetRecord(ctx, mine)
	if err != nil || len(mineRec.VIFs) != 1 {
		t.Fatalf("down took the user's VIF: %+v %v", mineRec.VIFs, err)
	}
	if err := c.VIFDestroy(ctx, mineRec.VIFs[0]); err != nil {
		t.Fatal(err)
	}
	down.Changed()
	if rep = run(t, ctx, BringUp(cfg, down), true); rep.Err != nil {
		t.Fatalf("down: %v\n%s", rep.Err, output(rep))
	}
	if _, err := c.VMGetRecord(ctx, now[0]); !xapi.HasCode(err, "HANDLE_INVALID") {
		t.Fatalf("the snapshot is left after down: %v", err)
	}
	for _, vm := range []xapi.Ref{mine, otherNova} {
		if _, err := c.VMGetRecord(ctx, vm); err != nil {
			t.Fatalf("down removed the user's VM %s: %v", vm, err)
		}
	}
}

// TestResetWithoutSnapshot: a lab with no clean snapshot is not reset.
func TestResetWithoutSnapshot(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	rep := run(t, ctx, Reset(cfg, host), false)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "no clean snapshot") {
		t.Fatalf("reset without a snapshot: %v", rep.Err)
	}
}

// placeholderPort reads the placeholder VIF's port in dom0.
func placeholderPort(t *testing.T, ctx context.Context, h *hosts.Host, lab string) portState {
	t.Helper()
	_, vif, ok := viewOf(inventory(t, ctx, h), &localrc.Config{Lab: lab}).placeholderVIF()
	if !ok {
		t.Fatal("domU has no placeholder VIF")
	}
	dom0, err := h.Dom0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := readPort(ctx, dom0, vif.UUID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func inventory(t *testing.T, ctx context.Context, h *hosts.Host) *hosts.Snapshot {
	t.Helper()
	h.Changed()
	inv, err := h.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// userVM makes a halted VM with one VIF on net and other_config extra.
func userVM(t *testing.T, ctx context.Context, c *xapi.Client, tpl xapi.Ref, name string, net xapi.Ref, extra map[string]string) xapi.Ref {
	t.Helper()
	vm, err := c.VMClone(ctx, tpl, name)
	if err == nil {
		err = c.VMSetIsATemplate(ctx, vm, false)
	}
	if err == nil {
		_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: net, Device: "0"})
	}
	for k, v := range extra {
		if err == nil {
			err = c.VMAddToOtherConfig(ctx, vm, k, v)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func vmByUUID(ctx context.Context, c *xapi.Client, uuid string) (xapi.Ref, error) {
	v, err := c.Call(ctx, "VM.get_by_uuid", uuid)
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return xapi.Ref(s), nil
}

// vdiSet returns the host's VDIs, sorted.
func vdiSet(t *testing.T, ctx context.Context, c *xapi.Client) []string {
	t.Helper()
	v, err := c.Call(ctx, "VDI.get_all")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range v.([]any) {
		out = append(out, r.(string))
	}
	slices.Sort(out)
	return out
}

// TestSnapshotAndResetWithoutCheckpoint: where domU's allowed_operations
// lacks checkpoint (here blocked, as an administrator may), up takes a disk
// snapshot of the cleanly shut down domU and starts it again with
// rejoin-stack.sh, and reset starts the reverted domU the same way; the
// lab verifies after both.
func TestSnapshotAndResetWithoutCheckpoint(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLabOVS(t, ovs.ModeModel)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	domU := findDomU(inventory(t, ctx, host), cfg.Lab)
	if _, err := c.Call(ctx, "VM.add_to_blocked_operations", domU, "checkpoint", "no memory snapshots here"); err != nil {
		t.Fatal(err)
	}
	host.Changed()
	rep := run(t, ctx, BringUp(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	out := output(rep)
	for _, want := range []string{"snapshot: disk snapshot", "snapshot: domU: rejoin-stack.sh brought the agents back"} {
		if !strings.Contains(out, want) {
			t.Errorf("up's output lacks %q:\n%s", want, out)
		}
	}
	snaps := labSnapshots(inventory(t, ctx, host), cfg.Lab, domU)
	if len(snaps) != 1 || inventory(t, ctx, host).VMs[snaps[0]].PowerState != xapi.PowerHalted {
		t.Fatalf("snapshots %v", snaps)
	}
	rh := hosts.New(host.Config, hosts.Options{})
	defer rh.Close(ctx)
	rep = run(t, ctx, Reset(cfg, rh), false)
	if rep.Err != nil {
		t.Fatalf("reset: %v\n%s", rep.Err, output(rep))
	}
	out = output(rep)
	for _, want := range []string{"started domU from the snapshot's disks", "rejoin-stack.sh brought the agents back", "verify: domU br-int"} {
		if !strings.Contains(out, want) {
			t.Errorf("reset's output lacks %q:\n%s", want, out)
		}
	}
}
