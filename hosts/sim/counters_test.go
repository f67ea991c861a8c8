package sim

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// TestCounters: the host counts each xapi call once, and an SSH handshake
// with a guest still counts after the guest has stopped (bench/ reads the
// counts after down, which stops domU).
func TestCounters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	defer c.Close(ctx)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	before := h.Counters().XAPICalls
	tmpl, err := c.VMGetByNameLabel(ctx, "jeos_template_for_devstack")
	must("template", err)
	vm, err := c.VMClone(ctx, tmpl[0], "counted")
	must("clone", err)
	must("not a template", c.VMSetIsATemplate(ctx, vm, false))
	if got := h.Counters().XAPICalls - before; got != 3 {
		t.Fatalf("3 xapi calls counted as %d", got)
	}

	hosts, err := c.HostGetAll(ctx)
	must("hosts", err)
	mgmt, _, err := c.ManagementNetwork(ctx, hosts[0])
	must("management network", err)
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"})
	must("VIF.create", err)
	must("VM.start", c.VMStart(ctx, vm, false, false))
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	must("guest IP", err)

	hs := h.Counters().SSHHandshakes
	domu, err := sshc.Dial(ctx, sshc.Config{Host: "domU", Addr: net.JoinHostPort(ip, strconv.Itoa(ep.GuestSSHPort)),
		User: localrc.DefaultStackUser, KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
	must("ssh to the guest", err)
	domu.Close()
	// The server counts a handshake when its side of it ends, which can
	// come just after the client's: wait for it, bounded.
	for deadline := time.Now().Add(5 * time.Second); h.Counters().SSHHandshakes-hs < 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.Counters().SSHHandshakes - hs; got != 1 {
		t.Fatalf("1 handshake with the guest counted as %d", got)
	}
	must("VM.hard_shutdown", c.VMHardShutdown(ctx, vm))
	if got := h.Counters().SSHHandshakes - hs; got != 1 {
		t.Fatalf("after the guest stopped, its handshake counts as %d, want 1", got)
	}
}
