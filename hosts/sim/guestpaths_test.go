package sim

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
)

// TestGuestReadsItsFactsWhereADomUDoes: a command in a guest finds its
// kernel command line (the VM's PV-args) at /proc/cmdline, its host name
// from `hostname`, the VM's uuid at /sys/hypervisor/uuid, each VIF's MAC
// at /sys/class/net/eth<device>/address and each disk's size at
// /sys/block/xvd<x>/size; dom0's `hostname` is the host's.
// It needs per-command mount namespaces (root).
func TestGuestReadsItsFactsWhereADomUDoes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.dom0.Isolation() != sshd.IsolationMountNS {
		t.Skip("guest paths need per-command mount namespaces (root)")
	}
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	defer c.Close(ctx)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	vm := newGuestVM(ctx, t, c, "DevStackOSDomU")
	const pvArgs = "flat_network_bridge=xapi1 xen_integration_bridge=xapi2"
	must("PV-args", c.VMSetPVArgs(ctx, vm, pvArgs))
	hosts, err := c.HostGetAll(ctx)
	must("hosts", err)
	mgmt, _, err := c.ManagementNetwork(ctx, hosts[0])
	must("management network", err)
	if _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"}); err != nil {
		t.Fatal(err)
	}
	vif1, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "1"})
	must("VIF 1", err)
	rec, err := c.VIFGetRecord(ctx, vif1)
	must("VIF 1 record", err)
	must("VM.start", c.VMStart(ctx, vm, false, false))
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	must("guest IP", err)
	uuid := vmUUID(ctx, t, c, vm)

	dial := func(addr string) *sshc.Client {
		cl, err := sshc.Dial(ctx, sshc.Config{Host: addr, Addr: addr, User: "root",
			KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	run := func(cl *sshc.Client, cmd string) string {
		t.Helper()
		res, err := cl.Run(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSpace(string(res.Stdout))
	}
	domu := dial(net.JoinHostPort(ip, strconv.Itoa(ep.GuestSSHPort)))
	for cmd, want := range map[string]string{
		"cat /proc/cmdline":                pvArgs,
		"hostname":                         "DevStackOSDomU",
		"cat /sys/hypervisor/uuid":         uuid,
		"cat /sys/class/net/eth1/address":  strings.ToLower(rec.MAC),
		"ls /sys/class/net | tr '\\n' ' '": "eth0 eth1 lo",
		"cat /sys/block/xvda/size":         strconv.Itoa(8 << 30 / 512), // the template's 8 GiB root disk
	} {
		if got := run(domu, cmd); got != want {
			t.Errorf("domU %s: %q, want %q", cmd, got, want)
		}
	}
	if got := run(dial(ep.Dom0SSH), "hostname"); got != dom0Hostname {
		t.Errorf("dom0 hostname: %q", got)
	}
	if got, _ := os.Hostname(); got == "DevStackOSDomU" || got == dom0Hostname {
		t.Errorf("this machine's host name changed to %q", got)
	}
}
