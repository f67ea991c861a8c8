package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// planOf runs a plan of steps and returns it (failing on a Check error).
func planOf(t *testing.T, ctx context.Context, steps []provision.Node) *provision.PlanResult {
	t.Helper()
	eng, err := provision.New(steps, provision.Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// changesOf lists a plan's changes as "step: field (how)".
func changesOf(p *provision.PlanResult) []string {
	var out []string
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			out = append(out, fmt.Sprintf("%s: %s (%s)", s.Name, c.Field, c.How))
		}
	}
	return out
}

func hasAll(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, all)
		}
	}
}

// TestEditsArePlannedAndApplied edits the lab file after an up (to the
// placeholder: the agents are another test's) and expects plan to show
// each difference with how up makes it, up to make them (domU shut down
// for memory, vCPUs and its new disk, which xapi changes only on a halted
// VM, and started again; the network renamed in place) and a second plan
// to show nothing.
func TestEditsArePlannedAndApplied(t *testing.T) {
	sh, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)

	edited := *cfg
	edited.DomU.Memory = 6 << 30
	edited.DomU.VCPUs = 3
	edited.DomU.XVDB = 2 << 30
	edited.DomU.Name = "EditedDomU"
	edited.Networks.VM = "Edited VM Network"
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	p := planOf(t, ctx, beforeAgents(&edited, fresh))
	hasAll(t, "the plan's changes", changesOf(p),
		"networks: networks.vm (in place)",
		"domU: domu.name (in place)",
		"domU: domu.memory (domU stopped)",
		"domU: domu.vcpus (domU stopped)",
		"domU: domu.xvdb_size (domU stopped)")
	if pending := p.Pending(); strings.Join(pending, ",") != "networks,domU" {
		t.Errorf("pending %v, want networks and domU", pending)
	}

	rep := run(t, ctx, beforeAgents(&edited, fresh), false)
	if rep.Err != nil {
		t.Fatalf("up after the edit: %v\n%s", rep.Err, output(rep))
	}
	out := output(rep)
	for _, want := range []string{"shutting domU down to change domu.memory 4GiB -> 6GiB", "renamed \"OpenStack VM Network\" to \"Edited VM Network\" in place",
		"memory 6GiB (was 4GiB)", "3 vCPUs (was 2)", "xvdb: a 2GiB disk", "started \"EditedDomU\""} {
		if !strings.Contains(out, want) {
			t.Errorf("up's output lacks %q:\n%s", want, out)
		}
	}

	// The host is as the edited file says.
	c, err := fresh.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Changed()
	inv, err := fresh.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := findDomU(inv, cfg.Lab)
	rec := inv.VMs[vm]
	if rec.NameLabel != "EditedDomU" || rec.MemoryStaticMax != 6<<30 || rec.VCPUsAtStartup != 3 || rec.PowerState != xapi.PowerRunning {
		t.Errorf("domU %q: memory %d, %d vCPUs, %s", rec.NameLabel, rec.MemoryStaticMax, rec.VCPUsAtStartup, rec.PowerState)
	}
	if _, size := xvdbDisk(inv, cfg.Lab, vm); size != 2<<30 {
		t.Errorf("domU's xvdb is %d bytes, want 2GiB", size)
	}
	// The guest sees the new disk (blkfront's /sys/block/xvdb).
	if sh.Endpoints().Isolation != "mountns" {
		t.Logf("not checking domU's /sys/block/xvdb: the simulated guest shows its /sys only with mount namespaces (root)")
	} else if g, err := fresh.DialGuest(ctx, "domU", net.JoinHostPort(guestIP(inv, vm, 0), strconv.Itoa(cfg.DomU.SSHPort)), "root", cfg.DomU.Password); err != nil {
		t.Error(err)
	} else {
		res, err := g.Run(ctx, "cat /sys/block/xvdb/size")
		g.Close()
		if err != nil || strings.TrimSpace(string(res.Stdout)) != fmt.Sprint(2<<30/512) {
			t.Errorf("domU's /sys/block/xvdb/size: %v %q", err, res.Stdout)
		}
	}
	nets, err := c.NetworkGetByNameLabel(ctx, "Edited VM Network")
	if err != nil || len(nets) != 1 {
		t.Errorf("the renamed network: %v %v", nets, err)
	}

	// Nothing left to do.
	again := hosts.New(host.Config, hosts.Options{})
	defer again.Close(ctx)
	p = planOf(t, ctx, beforeAgents(&edited, again))
	if cs := changesOf(p); len(cs) > 0 || len(p.Pending()) > 0 {
		t.Errorf("a second plan: pending %v, changes %v", p.Pending(), cs)
	}
}

// TestMemoryBeyondTheHostIsRefusedBeforeDomUStops: an edit asking for
// more memory than the host has fails plan (domU's check) and is refused
// by preflight in up, naming the field, before domU is shut down for it.
func TestMemoryBeyondTheHostIsRefusedBeforeDomUStops(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)

	edited := *cfg
	edited.DomU.Memory = 64 << 30
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	eng, err := provision.New(beforeAgents(&edited, fresh), provision.Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Plan(ctx)
	if err == nil || !strings.Contains(err.Error(), "domu.memory = 64GiB: domU \"DevStackOSDomU\" holds 4GiB now") {
		t.Errorf("plan with 64GiB: %v", err)
	}
	hasAll(t, "the plan's changes", changesOf(p), "domU: domu.memory (domU stopped)")
	rep := run(t, ctx, beforeAgents(&edited, fresh), false)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "domu.memory = 64GiB") || !strings.Contains(rep.Err.Error(), "holds 4GiB") {
		t.Fatalf("up with 64GiB: %v", rep.Err)
	}
	if st := rep.Names(provision.StateDone); len(st) != 0 {
		t.Errorf("steps ran after the refusal: %v", st)
	}
	fresh.Changed()
	inv, err := fresh.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec := inv.VMs[findDomU(inv, cfg.Lab)]; rec.PowerState != xapi.PowerRunning || rec.MemoryStaticMax != cfg.DomU.Memory.Bytes() {
		t.Errorf("domU after the refusal: %s, memory %d", rec.PowerState, rec.MemoryStaticMax)
	}
}

// TestSimulatedXapiRefusesMemoryAndVCPUsOfARunningVM: xapi changes them
// only on a halted VM (xapi_vm_lifecycle.ml: changing_memory_limits and
// changing_VCPUs need Halted), and starts no VM the host has no memory for.
func TestSimulatedXapiRefusesMemoryAndVCPUsOfARunningVM(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host.Changed()
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := findDomU(inv, cfg.Lab)
	gib := int64(1) << 30
	if err := c.VMSetMemoryLimits(ctx, vm, gib, 6*gib, 6*gib, 6*gib); !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
		t.Errorf("set_memory_limits on a running VM: %v", err)
	}
	if err := c.VMSetVCPUsMax(ctx, vm, 4); !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
		t.Errorf("set_VCPUs_max on a running VM: %v", err)
	}
	if err := c.VMHardShutdown(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetMemoryLimits(ctx, vm, gib, 64*gib, 64*gib, 64*gib); err != nil {
		t.Fatal(err)
	}
	err = c.VMStart(ctx, vm, false, false)
	var xe *xapi.Error
	if !xapi.HasCode(err, "HOST_NOT_ENOUGH_FREE_MEMORY") || !errors.As(err, &xe) || len(xe.Params) != 2 || xe.Params[0] != fmt.Sprint(64*gib) {
		t.Errorf("starting a 64GiB VM on a 16GiB host: %v", err)
	}
}

// TestEditsReachDomU edits what ends up in domU (the VLAN range in
// localrc and both agents' ini files, devstack's branch) after a whole
// up: plan shows each as "stack.sh again", up re-clones devstack on the
// new branch and stacks again, verify passes (it ran in up), and a second
// plan has nothing to do. Then, on the same stacked lab, memory and vCPUs
// (subtest "memory and vCPUs", memoryAndVCPUsEdit).
func TestEditsReachDomU(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLab(t)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if rep := run(t, ctx, BringUp(cfg, host), false); rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}

	edited := *cfg
	edited.Quantum.VLANs = localrc.VLANRange{Min: 2000, Max: 2010}
	edited.Devstack.Branch = "stable/havana"
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	p := planOf(t, ctx, BringUp(&edited, fresh))
	cs := changesOf(p)
	hasAll(t, "the plan's changes", cs,
		"agents: quantum.physical_network / quantum.vlan_range (localrc) (stack.sh again)",
		"agents: quantum.physical_network / quantum.vlan_range (ovs_neutron_plugin.ini) (stack.sh again)",
		"agents: quantum.physical_network / quantum.vlan_range (ovs_neutron_plugin.ini.domU) (stack.sh again)")
	for _, s := range p.Steps {
		for _, c := range s.Changes {
			if strings.Contains(c.Field, "vlan_range (localrc)") && (c.From != "'physnet1:1000:1024'" || c.To != "'physnet1:2000:2010'") {
				t.Errorf("the VLAN range's change: %s", c)
			}
		}
	}
	rep := run(t, ctx, BringUp(&edited, fresh), false)
	if rep.Err != nil {
		t.Fatalf("up after the edit: %v\n%s", rep.Err, output(rep))
	}
	if !strings.Contains(output(rep), "git clone https://opendev.org/openstack/devstack (branch stable/havana) into ") {
		t.Errorf("devstack was not cloned again on the new branch:\n%s", output(rep))
	}

	// The branch alone: the files stay, the checkout changes.
	edited.Devstack.Branch = "havana-eol"
	again := hosts.New(host.Config, hosts.Options{})
	defer again.Close(ctx)
	p = planOf(t, ctx, BringUp(&edited, again))
	hasAll(t, "the plan's changes", changesOf(p), "agents: devstack.branch (stack.sh again)")
	if rep := run(t, ctx, BringUp(&edited, again), false); rep.Err != nil {
		t.Fatalf("up after the branch edit: %v\n%s", rep.Err, output(rep))
	}

	last := hosts.New(host.Config, hosts.Options{})
	defer last.Close(ctx)
	p = planOf(t, ctx, BringUp(&edited, last))
	if cs := changesOf(p); len(cs) > 0 || len(p.Pending()) > 0 {
		t.Errorf("a second plan: pending %v, changes %v", p.Pending(), cs)
	}
	if t.Failed() {
		return
	}
	t.Run("memory and vCPUs", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		memoryAndVCPUsEdit(t, ctx, &edited, host)
	})
}

// memoryAndVCPUsEdit: after a whole up (TestEditsReachDomU's, of the lab
// file cfg), memory and vCPUs are edited; up shuts domU down to change
// them, boot starts it, and the lab must come back whole (verify, in up)
// with nothing left to plan. domU's reboot takes devstack's agents with
// it: the agents' Check reads domU's boot_id and processes, so the
// agents step brings them back (rejoin-stack.sh) and up must succeed.
func memoryAndVCPUsEdit(t *testing.T, ctx context.Context, cfg *localrc.Config, host *hosts.Host) {
	edited := *cfg
	edited.DomU.Memory = 6 << 30
	edited.DomU.VCPUs = 4
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	p := planOf(t, ctx, BringUp(&edited, fresh))
	hasAll(t, "the plan's changes", changesOf(p), "domU: domu.memory (domU stopped)", "domU: domu.vcpus (domU stopped)")
	rep := run(t, ctx, BringUp(&edited, fresh), false)
	out := output(rep)
	hasAll(t, "up's output", []string{out}, "shutting domU down to change domu.memory 4GiB -> 6GiB, domu.vcpus 2 -> 4", "started \"DevStackOSDomU\"")
	if rep.Err != nil {
		t.Fatalf("up after the edit: %v\n%s", rep.Err, out)
	}
	last := hosts.New(host.Config, hosts.Options{})
	defer last.Close(ctx)
	p = planOf(t, ctx, BringUp(&edited, last))
	if cs := changesOf(p); len(cs) > 0 || len(p.Pending()) > 0 {
		t.Errorf("a second plan: pending %v, changes %v", p.Pending(), cs)
	}
}
