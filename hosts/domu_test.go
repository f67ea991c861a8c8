package hosts

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// TestDomUConnectionPerBoot: the host's connection to domU is made once
// and shared while domU stays in one boot; after a reboot (a new domid)
// the next use connects again, to the new boot.
func TestDomUConnectionPerBoot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	cfg, err := localrc.Load(sh.Endpoints().LabFile)
	if err != nil {
		t.Fatal(err)
	}
	h := New(cfg.Hosts[0], Options{})
	defer h.Close(ctx)
	c, err := h.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.VMGetByNameLabel(ctx, cfg.DomU.Template)
	if err != nil || len(tmpl) != 1 {
		t.Fatalf("template %q: %v %v", cfg.DomU.Template, tmpl, err)
	}
	vm, err := c.VMClone(ctx, tmpl[0], "domU")
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := c.HostGetAll(ctx)
	mgmt, _, err := c.ManagementNetwork(ctx, hs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{c.VMProvision(ctx, vm), c.VMSetIsATemplate(ctx, vm, false),
		func() error { _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"}); return err }(),
		c.VMStart(ctx, vm, false, false)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	boot := func() Boot {
		t.Helper()
		ip, err := c.WaitGuestIP(ctx, vm, "0")
		if err != nil {
			t.Fatal(err)
		}
		domid, err := c.VMGetDomid(ctx, vm)
		if err != nil {
			t.Fatal(err)
		}
		return Boot{Addr: net.JoinHostPort(ip, strconv.Itoa(cfg.DomU.SSHPort)), Domain: domid}
	}
	b1 := boot()
	first, err := h.DomU(ctx, b1, cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.DomU(ctx, b1, cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil || again != first || h.DomUHandshakes() != 1 {
		t.Fatalf("a second use in the same boot: %v, same connection %v, %d handshakes (want 1)", err, again == first, h.DomUHandshakes())
	}
	if _, err := c.Call(ctx, "VM.clean_reboot", string(vm)); err != nil {
		t.Fatal(err)
	}
	b2 := boot()
	if b2 == b1 {
		t.Fatalf("the reboot kept the boot %+v", b1)
	}
	next, err := h.DomU(ctx, b2, cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil {
		t.Fatal(err)
	}
	if next == first || h.DomUHandshakes() != 2 {
		t.Fatalf("after the reboot: same connection %v, %d handshakes (want 2)", next == first, h.DomUHandshakes())
	}
	if res, err := next.Run(ctx, "true"); err != nil {
		t.Fatalf("the new connection: %v %s", err, res.Stderr)
	}
	h.DropDomU()
	if n := h.DomUHandshakes(); n != 2 {
		t.Errorf("DropDomU changed the count: %d", n)
	}
}
