package steps

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// trap fails or interrupts the first call of one xapi method.
type trap struct {
	mu     sync.Mutex
	method string
	cancel context.CancelFunc // nil: fail the call
	sprung bool
}

func (tr *trap) fault(n int64, method string) *xapid.Fault {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.sprung || method != tr.method {
		return nil
	}
	tr.sprung = true
	if tr.cancel != nil {
		tr.cancel() // Ctrl-C while the call is on its way; the call itself goes through
		return nil
	}
	return &xapid.Fault{Code: "INTERNAL_ERROR", Params: []string{"injected by the test"}}
}

// converged runs up twice more: the first finishes the lab, the second
// finds nothing to do, and the host holds one domU.
func converged(t *testing.T, cfg *localrc.Config, host *hosts.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatalf("up after the failure: %v\n%s", rep.Err, output(rep))
	}
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if done := rep.Names(provision.StateDone); rep.Err != nil || !slices.Equal(done, []string{"preflight"}) {
		t.Fatalf("up after that ran %v (%v)\n%s", done, rep.Err, output(rep))
	}
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vms := ownedVMs(inv, cfg.Lab, ""); len(vms) != 1 {
		t.Fatalf("the lab owns %d VMs, want only domU", len(vms))
	}
	// No half-made copy left behind untagged, where down would miss it.
	named := 0
	for _, vm := range inv.VMs {
		if vm.NameLabel == cfg.DomU.Name {
			named++
		}
	}
	if named != 1 {
		t.Fatalf("%d VMs are named %q, want only domU", named, cfg.DomU.Name)
	}
}

// TestUpResumesAfterAFailureInEachStep injects an xapi failure into each
// step's writes in turn (and into tagging the fresh clone), then checks
// that up converges.
func TestUpResumesAfterAFailureInEachStep(t *testing.T) {
	t.Parallel() // a simulated host of its own for each case
	for _, method := range []string{"network.create", "VM.clone", "VM.add_to_other_config", "VIF.create", "VM.start", "network.attach", "event.from"} {
		t.Run(method, func(t *testing.T) {
			tr := &trap{method: method}
			cfg, host := simLabFault(t, tr.fault)
			if method == "network.attach" { // the placeholder step's write with the attach method
				cfg.Networks.IntegrationBridge = localrc.BridgeAttach
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep := run(t, ctx, beforeAgents(cfg, host), false)
			if rep.Err == nil || !strings.Contains(rep.Err.Error(), "injected by the test") {
				t.Fatalf("up with a fault in %s: %v, want the injected failure", method, rep.Err)
			}
			converged(t, cfg, host)
		})
	}
}

// TestUpResumesAfterCancel interrupts up (as Ctrl-C does) at several
// points, then checks that up converges.
func TestUpResumesAfterCancel(t *testing.T) {
	t.Parallel() // a simulated host of its own for each case
	for _, method := range []string{"network.create", "VM.clone", "VIF.create", "VM.start"} {
		t.Run(method, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tr := &trap{method: method, cancel: cancel}
			cfg, host := simLabFault(t, tr.fault)
			rep := run(t, ctx, beforeAgents(cfg, host), false)
			if rep.Err == nil {
				t.Fatalf("up cancelled at %s succeeded", method)
			}
			converged(t, cfg, host)
		})
	}
}

// TestPlaceholderRepairedAfterReboot reboots domU behind xenlab's back: the
// placeholder's port comes back untagged, and the next up says so and
// tags it.
func TestPlaceholderRepairedAfterReboot(t *testing.T) {
	t.Parallel() // a simulated host of its own
	_, cfg, host := simLabOVS(t, ovs.ModeAuto)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := host.XAPI(ctx)
	if _, err := c.Call(ctx, "VM.clean_reboot", string(findDomU(inv, cfg.Lab))); err != nil {
		t.Fatal(err)
	}
	host.Changed()
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if done := rep.Names(provision.StateDone); !slices.Contains(done, "bridge-placeholder") {
		t.Fatalf("up after the reboot ran %v, want bridge-placeholder\n%s", done, output(rep))
	}
	if out := output(rep); !strings.Contains(out, "was untagged") || !strings.Contains(out, "set tag=4095") {
		t.Fatalf("up after the reboot does not say it repaired the port:\n%s", out)
	}
}

// TestUpSettlesHalfMadeClones: what a run killed while it cloned domU
// leaves (clone.go) is removed by the next up, which then makes one domU:
// the clone a record names (untagged, as a clone of a template used as it
// is), and a clone tagged as domU but still a template that no record
// names (a run of an earlier xenlab). The template itself stays.
func TestUpSettlesHalfMadeClones(t *testing.T) {
	cfg, host := simLabFault(t, (&trap{}).fault)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory(t, ctx, host)
	tpl := findTemplateByName(t, ctx, c, cfg.DomU.Template)
	name := cloneName(cfg)
	if err := beginClone(ctx, c, inv, cfg.Lab, name); err != nil {
		t.Fatal(err)
	}
	recorded, err := c.VMClone(ctx, tpl, name)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := c.VMClone(ctx, tpl, cfg.DomU.Name)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tags(cfg.Lab, RoleDomU) {
		if err := c.VMAddToOtherConfig(ctx, tagged, k, v); err != nil {
			t.Fatal(err)
		}
	}
	host.Changed()
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	for _, vm := range []xapi.Ref{recorded, tagged} {
		if _, err := c.VMGetRecord(ctx, vm); !xapi.HasCode(err, "HANDLE_INVALID") {
			t.Errorf("the half-made clone %s is still there (%v)\n%s", vm, err, output(rep))
		}
	}
	if _, err := c.VMGetRecord(ctx, tpl); err != nil {
		t.Fatalf("the template: %v", err)
	}
	inv = inventory(t, ctx, host)
	if _, left := cloneInProgress(inv, cfg.Lab); left != "" {
		t.Errorf("the record of the clone is still there: %q", left)
	}
	converged(t, cfg, host)
}

// TestDomUFoundWhateverRoleAKillLeft: domU tagged with role snapshot (as
// a pre-MNR revert copies the snapshot's other_config) or with no role
// (a retag cut between its removal and its addition) is still domU: up
// tags it domu again and clones no second one.
func TestDomUFoundWhateverRoleAKillLeft(t *testing.T) {
	cfg, host := simLabFault(t, (&trap{}).fault)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{RoleSnapshot, ""} {
		vm := findDomU(inventory(t, ctx, host), cfg.Lab)
		if err := c.VMRemoveFromOtherConfig(ctx, vm, TagRole); err != nil {
			t.Fatal(err)
		}
		if role != "" {
			if err := c.VMAddToOtherConfig(ctx, vm, TagRole, role); err != nil {
				t.Fatal(err)
			}
		}
		host.Changed()
		if got := findDomU(inventory(t, ctx, host), cfg.Lab); got != vm {
			t.Fatalf("domU with role %q: found %q", role, got)
		}
		rep := run(t, ctx, beforeAgents(cfg, host), false)
		if rep.Err != nil || !strings.Contains(output(rep), "tagged domU with "+TagRole+"="+RoleDomU) {
			t.Fatalf("up with domU's role %q: %v\n%s", role, rep.Err, output(rep))
		}
		if oc := inventory(t, ctx, host).VMs[vm].OtherConfig; oc[TagRole] != RoleDomU {
			t.Fatalf("domU's role after up: %q", oc[TagRole])
		}
	}
	converged(t, cfg, host)
}
