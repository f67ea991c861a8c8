package steps

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim/ovs"
	"xenlab/localrc"
	"xenlab/provision"
)

// TestVerifyProvesThePathWithRealOVS: on real Open vSwitch, verify proves
// that a tenant frame leaves dom0's VM network bridge on VLAN 1000 and
// reaches domU's DHCP port: with real frames where the simulated host has
// a network of its own (as root: dom0's VIF ports are links to domU's
// eth<N>, probe.go), else with ofproto/trace on each switch; then a drop
// flow that leaves every flow verify reads in place (so only a frame or
// a trace can see it) breaks the proof, naming the switch.
func TestVerifyProvesThePathWithRealOVS(t *testing.T) {
	t.Parallel() // a simulated host of its own
	if err := ovs.RealAvailable(); err != nil {
		t.Skip(err)
	}
	sh, cfg, host := simLabOVS(t, ovs.ModeReal)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeVerify(cfg, host), false); rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	inv := mustInv(t, ctx, host)
	_, intBr, err := viewOf(inv, cfg).integrationBridge()
	if err != nil {
		t.Fatal(err)
	}
	vmNet, _, _ := findNetwork(inv, cfg, RoleVMNetwork, cfg.Networks.VM)
	vmBr := inv.Networks[vmNet].Bridge

	views := &Views{}
	vf := &verify{host: host, lab: cfg, views: views}
	var out lines
	if err := vf.Apply(ctx, &out); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The view verify leaves from what it read is what status reads.
	view, st := views.Get(host.Name()), mustStatus(t, ctx, host, cfg)
	if view == nil || view.DomUSwitch == nil || view.DomUSwitch.LocalVLAN != "1" || len(view.Switch) != 3 {
		t.Fatalf("verify's view: %+v", view)
	}
	view.DomU.Uptime, st.DomU.Uptime = "", ""
	if a, b := jsonOf(t, view), jsonOf(t, st); a != b {
		t.Errorf("verify's view:\n%s\nstatus:\n%s", a, b)
	}
	got := strings.Join(out, "\n")
	t.Logf("verify said:\n%s", got)
	frames := sh.Endpoints().Network == "own" // the switches are linked: real frames
	sent := "8 frames sent by ovs-ofctl packet-out from " + intBr + "'s own port on local VLAN 1"
	wants := []string{
		"dom0 " + intBr + ": ofproto/trace: a frame from the bridge's own port with local VLAN 1 (no tenant port yet) leaves " + vmBr + " with VLAN 1000 (on ",
		"domU br-eth1: ofproto/trace: a frame arriving on eth1 with VLAN 1000 reaches the DHCP port tap",
	}
	if frames {
		wants = []string{"dom0 " + intBr + " to domU br-int: real frames: " + sent + " left " + vmBr + " on vif",
			"arrived on domU's eth1 (", "reached the DHCP port tap", "the placeholder's port vif"}
		if strings.Contains(got, "ofproto/trace") {
			t.Errorf("verify traced a path it proved with real frames:\n%s", got)
		}
	}
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("verify output lacks %q:\n%s", want, got)
		}
	}

	// dom0: the VM network's bridge drops what comes over the link.
	shOut(t, ctx, host, "ovs-ofctl add-flow "+vmBr+" priority=10,in_port=phy-"+vmBr+",actions=drop")
	err = vf.Apply(ctx, &out)
	want := "dom0 switch, bridge " + vmBr + ": expected ofproto/trace: a frame from the bridge's own port with local VLAN 1 (no tenant port yet) on " +
		intBr + " leaves " + vmBr + " with VLAN 1000, found no output (datapath actions: drop)"
	if frames {
		want = "dom0 switch, bridge " + vmBr + ": expected the " + sent + " to leave on domU's VIF port (vif"
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("after a drop flow on %s: %v\nwant %q", vmBr, err, want)
	}
	shOut(t, ctx, host, "ovs-ofctl --strict del-flows "+vmBr+" priority=10,in_port=phy-"+vmBr)

	// domU: br-int drops VLAN 1000 from the link ahead of the mapping.
	g, err := host.DialGuest(ctx, "domU", (&agents{host: host, lab: cfg}).domUAddr(inv), cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Run(ctx, "ovs-ofctl add-flow br-int priority=10,in_port=int-br-eth1,dl_vlan=1000,actions=drop"); err != nil {
		t.Fatal(err)
	}
	err = vf.Apply(ctx, &out)
	want = "domU switch, bridge br-int: expected ofproto/trace: a frame arriving on eth1 (bridge br-eth1) with VLAN 1000 reaches the DHCP port tap"
	if frames {
		want = "domU switch, bridge br-int: expected the " + sent + ", which arrived on eth1 with VLAN 1000, to reach the DHCP port tap"
	}
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "dom0") {
		t.Errorf("after a drop flow on br-int: %v\nwant only %q", err, want)
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) && len(joined.Unwrap()) != 1 {
		t.Errorf("one broken promise reported as %d: %v", len(joined.Unwrap()), err)
	}
}

// beforeVerify is BringUp without verify.
func beforeVerify(cfg *localrc.Config, host *hosts.Host) []provision.Node {
	all := BringUp(cfg, host)
	return all[:len(all)-1]
}

func mustStatus(t *testing.T, ctx context.Context, host *hosts.Host, cfg *localrc.Config) *StatusReport {
	t.Helper()
	st, err := Status(ctx, cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func jsonOf(t *testing.T, r *StatusReport) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
