package sim

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/secret"
)

// forEachOVSMode runs test once with the modelled switch and once with
// real Open vSwitch, skipping the real run where it cannot run here. The
// two runs have simulated hosts of their own and run in parallel.
func forEachOVSMode(t *testing.T, test func(*testing.T, ovs.Mode)) {
	for _, mode := range []ovs.Mode{ovs.ModeModel, ovs.ModeReal} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			if mode == ovs.ModeReal {
				if err := ovs.RealAvailable(); err != nil {
					t.Skipf("real Open vSwitch cannot run here: %v", err)
				}
			}
			test(t, mode)
		})
	}
}

// dialXAPI logs in to the simulated host's xapi as its lab file would:
// root, the password from its file, the certificate pinned.
func dialXAPI(ctx context.Context, t *testing.T, ep Endpoints) *xapi.Client {
	t.Helper()
	pw, err := os.ReadFile(ep.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := xapi.Dial(ctx, xapi.Options{URL: ep.XAPIURL, User: "root", Password: secret.New(string(pw)), Fingerprint: ep.XAPIFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newGuestVM clones the cached template into a VM named name, provisions
// its disks and makes it a VM rather than a template, as xenlab's domU
// step does.
func newGuestVM(ctx context.Context, t *testing.T, c *xapi.Client, name string) xapi.Ref {
	t.Helper()
	tmpl, err := c.VMGetByNameLabel(ctx, "jeos_template_for_devstack")
	if err != nil || len(tmpl) != 1 {
		t.Fatalf("template: %v %v", tmpl, err)
	}
	vm, err := c.VMClone(ctx, tmpl[0], name)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VMProvision(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetIsATemplate(ctx, vm, false); err != nil {
		t.Fatal(err)
	}
	return vm
}

// TestBringUpPieces drives the whole simulated host the way xenlab's steps
// will: through the lab file it writes, xenlab's own xapi client (pinned to
// the host's self-signed certificate) and xenlab's own SSH client (host keys
// checked against the host's known_hosts). It proves the seams: a VIF
// plugged by xapi appears on dom0's switch with xapi's external_ids, a
// plugin installed over SFTP runs under host.call_plugin with dom0's
// ovs-vsctl, a guest gets its own IP, SSH server and switch, and the
// integration bridge goes away when its last VIF does.
func TestBringUpPieces(t *testing.T) {
	forEachOVSMode(t, testBringUpPieces)
}

func testBringUpPieces(t *testing.T, mode ovs.Mode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: mode, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	cfg, err := localrc.Load(filepath.Join(dir, "lab.hcl"))
	if err != nil {
		t.Fatalf("the simulator's lab file does not load: %v", err)
	}
	hc := cfg.Hosts[0]
	if strings.Contains(string(h.LabFile()), hc.XAPIPassword.Reveal()) {
		t.Fatal("the password is written in the lab file")
	}
	c, err := xapi.Dial(ctx, xapi.Options{URL: hc.XAPIURL, User: hc.XAPIUser,
		Password: hc.XAPIPassword, Fingerprint: hc.XAPIFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	dom0, err := sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: hc.SSHAddr(), User: hc.SSHUser,
		KeyFiles: []string{hc.SSHKey}, KnownHosts: []string{hc.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer dom0.Close()
	run := func(cl *sshc.Client, cmd string) string {
		t.Helper()
		res, err := cl.Run(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSpace(string(res.Stdout))
	}

	// domU from the cached template, with a management VIF and the
	// integration placeholder on a network made with network.create.
	vm := newGuestVM(ctx, t, c, "DevStackOSDomU")
	intNet, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Integration Network"})
	if err != nil {
		t.Fatal(err)
	}
	bridge, err := c.NetworkGetBridge(ctx, intNet)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(dom0, "ovs-vsctl list-br"); strings.Contains(got, bridge) {
		t.Fatalf("network.create made bridge %s on dom0 already: %q", bridge, got)
	}
	host, err := c.HostGetAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mgmt, _, err := c.ManagementNetwork(ctx, host[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"}); err != nil {
		t.Fatal(err)
	}
	placeholder, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: intNet, Device: "3"})
	if err != nil {
		t.Fatal(err)
	}
	vmNet, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Network"})
	if err != nil {
		t.Fatal(err)
	}
	vmBridge, err := c.NetworkGetBridge(ctx, vmNet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: vmNet, Device: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	if err != nil {
		t.Fatal(err)
	}
	domid, err := c.VMGetDomid(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}

	// The placeholder's port is on the integration bridge, found the way
	// xenlab finds it, and parks on the dead VLAN.
	vifRec, err := c.VIFGetRecord(ctx, placeholder)
	if err != nil {
		t.Fatal(err)
	}
	port := run(dom0, "ovs-vsctl --bare --columns=name find Interface external_ids:xs-vif-uuid="+vifRec.UUID)
	if want := "vif" + strconv.FormatInt(domid, 10) + ".3"; port != want {
		t.Fatalf("placeholder port %q, want %q", port, want)
	}
	if got := run(dom0, "ovs-vsctl port-to-br "+port); got != bridge {
		t.Fatalf("port %s on %q, want %q", port, got, bridge)
	}
	run(dom0, "ovs-vsctl set Port "+port+" tag=4095")
	if got := run(dom0, "ovs-vsctl get Port "+port+" tag"); got != "4095" {
		t.Fatalf("tag %q", got)
	}

	// A plugin installed over SFTP runs under host.call_plugin with
	// dom0's switch on its PATH.
	plugin := `#!/usr/bin/env python3
import subprocess
import XenAPIPlugin

def list_ports(session, args):
    return subprocess.check_output(["ovs-vsctl", "list-ports", args["bridge"]]).decode()

def path(session, args):
    import os
    return os.environ["PATH"]

if __name__ == "__main__":
    XenAPIPlugin.dispatch({"list_ports": list_ports, "path": path})
`
	if _, err := dom0.UploadBytes(ctx, []byte(plugin), "/etc/xapi.d/plugins/xltest", 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := c.HostCallPlugin(ctx, host[0], "xltest", "list_ports", map[string]string{"bridge": bridge})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != port {
		t.Fatalf("plugin saw ports %q, want %q", out, port)
	}
	// A plugin runs with the PATH a shell in dom0 has.
	pluginPath, err := c.HostCallPlugin(ctx, host[0], "xltest", "path", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if shellPath := run(dom0, "echo $PATH"); pluginPath != shellPath {
		t.Fatalf("plugin PATH %q, dom0 shell PATH %q", pluginPath, shellPath)
	}

	// The guest: its own SSH server on its own IP, and its own switch.
	domu, err := sshc.Dial(ctx, sshc.Config{Host: "domU", Addr: ip + ":" + strconv.Itoa(cfg.DomU.SSHPort),
		User: cfg.DomU.SSHUser, KeyFiles: []string{hc.SSHKey}, KnownHosts: []string{hc.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer domu.Close()
	run(domu, "ovs-vsctl add-br br-int")
	if got := run(domu, "ovs-vsctl list-br"); got != "br-int" {
		t.Fatalf("domU bridges %q", got)
	}
	if got := run(dom0, "ovs-vsctl list-br"); strings.Contains(got, "br-int") {
		t.Fatalf("domU's bridge leaked into dom0: %q", got)
	}

	// An agent's port on the VM network's bridge (as q-agt's phy- patch
	// port would be) keeps that bridge alive when the VIFs leave.
	run(dom0, "ovs-vsctl add-port "+vmBridge+" phy-"+vmBridge+" -- set Interface phy-"+vmBridge+
		" type=patch options:peer=int-"+vmBridge)

	// Shutdown: the VIF ports go, and the integration bridge with its last
	// VIF; the bridge that still has the agent's port stays.
	if err := c.VMHardShutdown(ctx, vm); err != nil {
		t.Fatal(err)
	}
	brs := run(dom0, "ovs-vsctl list-br")
	if strings.Contains(brs, bridge) {
		t.Fatalf("bridge %s still on dom0 after its last VIF left: %q", bridge, brs)
	}
	if !strings.Contains(brs, vmBridge) {
		t.Fatalf("bridge %s, which still carries an agent's port, was removed: %q", vmBridge, brs)
	}
	if got := run(dom0, "ovs-vsctl list-ports "+vmBridge); got != "phy-"+vmBridge {
		t.Fatalf("ports left on %s: %q", vmBridge, got)
	}
	if _, ok := h.GuestSwitch(vmUUID(ctx, t, c, vm)); ok {
		t.Fatal("the guest's switch is still running after shutdown")
	}
}

func vmUUID(ctx context.Context, t *testing.T, c *xapi.Client, vm xapi.Ref) string {
	rec, err := c.VMGetRecord(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	return rec.UUID
}

// TestRestartKeepsState: a --dir host keeps xapi's database, its host keys
// and credentials across restarts.
func TestRestartKeepsState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	if _, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Network"}); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	known1, err := os.ReadFile(ep.KnownHosts)
	if err != nil || key(known1) == "" {
		t.Fatalf("known_hosts after the first start: %q, %v", known1, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h2, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	ep2 := h2.Endpoints()
	if ep2.XAPIFingerprint != ep.XAPIFingerprint {
		t.Fatal("the xapi certificate changed across a restart")
	}
	known2, err := os.ReadFile(ep2.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if key(known1) != key(known2) {
		t.Fatalf("dom0's host key changed across a restart:\n%s\n%s", known1, known2)
	}
	// The first start's password still logs in after the restart.
	pw, err := os.ReadFile(ep.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := xapi.Dial(ctx, xapi.Options{URL: ep2.XAPIURL, User: "root", Password: secret.New(string(pw)), Fingerprint: ep2.XAPIFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	refs, err := c2.NetworkGetByNameLabel(ctx, "OpenStack VM Network")
	if err != nil || len(refs) != 1 {
		t.Fatalf("network after restart: %v %v", refs, err)
	}
}

// key returns the key part of a one-line known_hosts file.
func key(line []byte) string {
	f := strings.Fields(string(line))
	if len(f) < 3 {
		return ""
	}
	return f[1] + " " + f[2]
}
