package sim

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/hostnet"
	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
)

// TestCheckpointKeepsTheGuest: a VM.checkpoint of a running VM keeps its
// guest as Xen keeps a suspended domain: a process started in the guest
// before runs on after, and the simulator starts no guest (its switch,
// devices and SSH server: Counters.GuestStarts) but resumes the one it
// kept (GuestResumes). A revert to that checkpoint and a resume is the
// checkpoint's memory, not the kept guest: the guest is started anew and
// the process is gone. As root (freezing a guest needs its cgroup).
func TestCheckpointKeepsTheGuest(t *testing.T) {
	if err := ovs.RealAvailable(); err != nil && strings.Contains(err.Error(), "not root") {
		t.Skip("keeping a suspended guest needs root (its cgroup is frozen)")
	}
	t.Run("model", func(t *testing.T) { checkpointKeepsTheGuest(t, ovs.ModeModel) })
	// With the real switch (as root) the host has a network of its own:
	// the VIFs' links are parked while the VM is suspended.
	t.Run("real", func(t *testing.T) {
		if err := ovs.RealAvailable(); err != nil {
			t.Skip(err)
		}
		checkpointKeepsTheGuest(t, ovs.ModeReal)
	})
}

func checkpointKeepsTheGuest(t *testing.T, mode ovs.Mode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: mode, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.dom0.Isolation() != "mountns" {
		t.Skip("no own root for the hosts here")
	}
	t.Logf("a network of the host's own: %v", h.hnet != nil)
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	defer c.Close(ctx)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	vm := newGuestVM(ctx, t, c, "kept")
	hosts, err := c.HostGetAll(ctx)
	must("hosts", err)
	mgmt, _, err := c.ManagementNetwork(ctx, hosts[0])
	must("management network", err)
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"})
	must("VIF.create", err)
	must("VM.start", c.VMStart(ctx, vm, false, false))
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	must("guest IP", err)
	guestRun := func(cmd string) (string, int) {
		t.Helper()
		gc, err := sshc.Dial(ctx, sshc.Config{Host: "domU", Addr: net.JoinHostPort(ip, strconv.Itoa(ep.GuestSSHPort)), User: "root",
			KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
		must("ssh to the guest", err)
		defer gc.Close()
		res, err := gc.Run(ctx, cmd)
		if err != nil && res.ExitStatus == 0 {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSpace(string(res.Stdout)), res.ExitStatus
	}
	// A process of the guest, known by its command line (pids start
	// again in a new guest's PID namespace).
	const proc = "sleep 600.25"
	running := func() bool { _, code := guestRun("pgrep -fx '" + proc + "'"); return code == 0 }
	guestRun("nohup " + proc + " >/dev/null 2>&1 &")
	if !running() {
		t.Fatalf("%s is not running in the guest", proc)
	}
	c0 := h.Counters()
	snap, err := c.VMCheckpoint(ctx, vm, "cp")
	must("VM.checkpoint", err)
	_, err = c.WaitGuestIP(ctx, vm, "0")
	must("guest IP after the checkpoint", err)
	c1 := h.Counters()
	if c1.GuestStarts != c0.GuestStarts || c1.GuestResumes != c0.GuestResumes+1 {
		t.Errorf("checkpoint: %d guest starts and %d resumes, want 0 and 1", c1.GuestStarts-c0.GuestStarts, c1.GuestResumes-c0.GuestResumes)
	}
	if !running() {
		t.Errorf("the guest's %s did not outlive the checkpoint", proc)
	}
	if h.hnet != nil {
		// The resume took the parked link back as the new domain's
		// port, as netback's device: up, no ARP, no multicast,
		// fe:ff:ff:ff:ff:ff.
		domid, err := c.VMGetDomid(ctx, vm)
		must("domid", err)
		dom0 := dialDom0(ctx, t, ep)
		port := fmt.Sprintf("vif%d.0", domid)
		res, err := dom0.Run(ctx, "ip -o link show dev "+port)
		dom0.Close()
		got := string(res.Stdout)
		if err != nil || !strings.Contains(got, "<BROADCAST,NOARP,") || strings.Contains(got, "MULTICAST") ||
			!strings.Contains(got, ",UP,") || !strings.Contains(got, " link/ether "+hostnet.VIFMAC+" ") {
			t.Errorf("dom0's %s after the checkpoint is not as netback's device: %v: %s", port, err, got)
		}
	}

	must("VM.hard_shutdown", c.VMHardShutdown(ctx, vm))
	must("VM.revert", c.VMRevert(ctx, snap))
	must("VM.resume", c.VMResume(ctx, vm, false, false))
	_, err = c.WaitGuestIP(ctx, vm, "0")
	must("guest IP after the revert", err)
	c2 := h.Counters()
	if c2.GuestStarts != c1.GuestStarts+1 || c2.GuestResumes != c1.GuestResumes {
		t.Errorf("revert and resume: %d guest starts and %d resumes, want 1 and 0", c2.GuestStarts-c1.GuestStarts, c2.GuestResumes-c1.GuestResumes)
	}
	if running() {
		t.Errorf("the kept guest's %s runs on after a revert to the checkpoint", proc)
	}

	// A suspend keeps the guest; a revert while it is suspended and a
	// resume start another in its place, with working devices.
	guestRun("nohup " + proc + " >/dev/null 2>&1 &")
	must("VM.suspend", c.VMSuspend(ctx, vm))
	must("VM.revert while suspended", c.VMRevert(ctx, snap))
	must("VM.resume", c.VMResume(ctx, vm, false, false))
	_, err = c.WaitGuestIP(ctx, vm, "0")
	must("guest IP after a revert of the suspended VM", err)
	c3 := h.Counters()
	if c3.GuestStarts != c2.GuestStarts+1 || c3.GuestResumes != c2.GuestResumes {
		t.Errorf("suspend, revert and resume: %d guest starts and %d resumes, want 1 and 0", c3.GuestStarts-c2.GuestStarts, c3.GuestResumes-c2.GuestResumes)
	}
	if running() {
		t.Errorf("the kept guest's %s runs on after a revert of the suspended VM", proc)
	}
}
