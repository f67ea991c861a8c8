package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/provision"
)

// TestDownKeepsANetworkWithAForeignVIF: xapi's network.destroy deletes
// unplugged VIFs and refuses while one is plugged, so a VM that is not the
// lab's, halted or running, with a VIF on a lab network keeps that VIF
// and that network through down, and down names the VM; everything else
// of the lab is removed, the run fails, and a down after the VIFs are
// gone removes the rest.
func TestDownKeepsANetworkWithAForeignVIF(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory(t, ctx, host)
	vmNet, _, _ := findNetwork(inv, cfg, RoleVMNetwork, cfg.Networks.VM)
	pubNet, _, _ := findNetwork(inv, cfg, RolePublicNetwork, cfg.Networks.Public)
	intNet, _, _ := findNetwork(inv, cfg, RoleIntegrationNetwork, cfg.Networks.Integration)
	if vmNet == "" || pubNet == "" || intNet == "" {
		t.Fatalf("the lab's networks: %q %q %q", vmNet, pubNet, intNet)
	}
	tpl := findTemplateByName(t, ctx, c, cfg.DomU.Template)
	halted := userVM(t, ctx, c, tpl, "their halted VM", vmNet, nil)
	running := userVM(t, ctx, c, tpl, "their running VM", pubNet, nil)
	if err := c.VMStart(ctx, running, false, false); err != nil {
		t.Fatal(err)
	}
	theirs := map[xapi.Ref]xapi.Ref{} // VIF -> its network
	for _, vm := range []xapi.Ref{halted, running} {
		rec, err := c.VMGetRecord(ctx, vm)
		if err != nil || len(rec.VIFs) != 1 {
			t.Fatalf("VM %s: %+v %v", vm, rec.VIFs, err)
		}
		v, err := c.VIFGetRecord(ctx, rec.VIFs[0])
		if err != nil {
			t.Fatal(err)
		}
		theirs[rec.VIFs[0]] = v.Network
	}
	host.Changed()

	rep := run(t, ctx, beforeAgents(cfg, host), true)
	if rep.Err == nil {
		t.Fatalf("down with foreign VIFs on two lab networks succeeded\n%s", output(rep))
	}
	if code := provision.ExitCode(rep.Err); code != provision.ExitFailure {
		t.Errorf("down's exit code %d, want %d", code, provision.ExitFailure)
	}
	msg := rep.Err.Error()
	for _, vm := range []xapi.Ref{halted, running} {
		rec, err := c.VMGetRecord(ctx, vm)
		if err != nil {
			t.Fatalf("down removed the foreign VM %s: %v", vm, err)
		}
		if !strings.Contains(msg, `"`+rec.NameLabel+`"`) || !strings.Contains(msg, rec.UUID) {
			t.Errorf("down's error does not name %q (%s):\n%s", rec.NameLabel, rec.UUID, msg)
		}
	}
	for vif, net := range theirs {
		if v, err := c.VIFGetRecord(ctx, vif); err != nil || v.Network != net {
			t.Errorf("the foreign VIF %s: %+v, %v; want it kept on %s", vif, v, err, net)
		}
		if _, err := c.NetworkGetRecord(ctx, net); err != nil {
			t.Errorf("the network %s holding a foreign VIF went: %v", net, err)
		}
	}
	// Everything else is gone: the integration network and the lab's VMs.
	if _, err := c.NetworkGetRecord(ctx, intNet); !xapi.HasCode(err, "HANDLE_INVALID") {
		t.Errorf("the integration network, with no foreign VIF, survived down: %v", err)
	}
	all, err := c.VMGetAllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := countTagged(all, cfg.Lab, RoleDomU); n != 0 {
		t.Errorf("%d domU left after down", n)
	}

	// Once the user moved their VIFs away, down finishes.
	for vif := range theirs {
		if v, _ := c.VIFGetRecord(ctx, vif); v.CurrentlyAttached {
			if err := c.VIFUnplug(ctx, vif); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.VIFDestroy(ctx, vif); err != nil {
			t.Fatal(err)
		}
	}
	host.Changed()
	if rep := run(t, ctx, beforeAgents(cfg, host), true); rep.Err != nil {
		t.Fatalf("down after the foreign VIFs left: %v\n%s", rep.Err, output(rep))
	}
	for _, net := range []xapi.Ref{vmNet, pubNet} {
		if _, err := c.NetworkGetRecord(ctx, net); !xapi.HasCode(err, "HANDLE_INVALID") {
			t.Errorf("network %s survived the second down: %v", net, err)
		}
	}
}
