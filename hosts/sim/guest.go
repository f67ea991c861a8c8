package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

// bootGuest gives a VM that xapi just started its own switch, network
// devices (eth<device> for each VIF, as a PV Linux guest names them) and an
// SSH server on a loopback address of its own, and returns that address as
// the IP the guest reports. The guest's files live under
// <dir>/guests/<vm uuid>/ and survive reboots, like its disk would. Boots
// and stops of one guest take turns (lockGuest): a stop that comes while
// the boot is starting the switch stops what the boot made, and two boots
// never share the guest's run directory.
func (h *Host) bootGuest(ctx context.Context, g xapid.Guest) (string, error) {
	defer h.lockGuest(g.UUID)()
	if ip, ok := h.resumeKept(ctx, g); ok {
		return ip, nil
	}
	start := time.Now()
	defer func() {
		h.mu.Lock()
		h.guestStarts++
		h.guestStartTime += time.Since(start)
		h.mu.Unlock()
	}()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return "", errors.New("simulated host is shutting down")
	}
	if old, ok := h.guests[g.UUID]; ok { // a start without a stop, or a kept guest not resumed: replace
		delete(h.guests, g.UUID)
		h.mu.Unlock()
		old.stop()
		h.mu.Lock()
	}
	used := map[string]bool{}
	for _, o := range h.guests {
		used[o.ip] = true
	}
	h.mu.Unlock()

	base := filepath.Join(h.dir, "guests", g.UUID)
	sw, err := ovs.Open(ctx, filepath.Join(base, "run", "ovs"), h.opts.OVS)
	if err != nil {
		return "", fmt.Errorf("%s's Open vSwitch: %w", g.NameLabel, err)
	}
	for _, v := range g.VIFs {
		if err := addLink(ctx, sw, "eth"+v.Device); err != nil {
			sw.Close()
			return "", fmt.Errorf("%s: eth%s: %w", g.NameLabel, v.Device, err)
		}
	}
	gs := &guest{name: g.NameLabel, root: filepath.Join(base, "fs"), sw: sw, vifs: g.VIFs}
	facts, err := writeBootFacts(filepath.Join(base, "boot"), g)
	if err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	skel := map[string]string{
		"/etc/hostname": g.NameLabel + "\n",
		"/opt/stack/":   "",
		"/var/log/":     "",
	}
	for p, content := range devstack.GuestFiles() { // git clone of devstack: the stand-in
		skel[p] = content
	}
	// A guest's address is fixed for its life; try the free ones in order.
	for n := 0; n < 240; n++ {
		ip := h.state.guestIP(n)
		if used[ip] {
			continue
		}
		gs.ssh, err = sshd.Start(ctx, sshd.Config{
			Name:        g.NameLabel,
			Root:        gs.root,
			Addr:        net.JoinHostPort(ip, strconv.Itoa(h.guestPort)),
			HostKeyFile: filepath.Join(base, "ssh_host_ed25519_key"),
			Users: map[string]sshd.User{
				"root":  h.user("/root"),
				"stack": h.user("/opt/stack"),
			},
			Env:           []string{"PATH=" + sw.BinDir()},
			Skeleton:      skel,
			Hostname:      guestHostname(g.NameLabel),
			ReadOnlyBinds: facts,
			KeepPaths:     sw.ToolDirs(),
			Builtins:      switchBuiltins(sw),
			Isolation:     h.opts.Isolation,
			Logf:          h.logf,
		})
		if err == nil {
			gs.ip = ip
			break
		}
	}
	if gs.ssh == nil {
		sw.Close()
		return "", fmt.Errorf("%s: no loopback address for its SSH server: %w", g.NameLabel, err)
	}
	h.mu.Lock()
	if h.closed { // Close has stopped the guests it knew
		h.mu.Unlock()
		gs.stop()
		return "", errors.New("simulated host is shutting down")
	}
	h.guests[g.UUID] = gs
	h.mu.Unlock()
	if err := h.writeKnownHosts(); err != nil {
		return "", err
	}
	if g.Resumed {
		h.resumeGuest(ctx, g, gs)
	}
	return gs.ip, nil
}

// resumeGuest stands in for a resumed guest's memory, which the simulator
// does not keep: what ran in the guest when it was suspended comes back.
// The only processes a simulated guest runs are the devstack stand-in's
// agents, whose state is domU's switch (lost when the guest stopped), so
// a guest whose stack.sh had completed (devstack.Marker) gets the
// stand-in's standin-resume.sh run as the stack user, which rebuilds
// domU's switch as the agents left it. A failure is logged: xenlab's
// verify names what is missing.
func (h *Host) resumeGuest(ctx context.Context, g xapid.Guest, gs *guest) {
	script := "if [ -f " + devstack.Marker + " ] && [ -x " + devstack.ResumeScript + " ]; then cd " +
		filepath.Dir(devstack.ResumeScript) + " && ./" + filepath.Base(devstack.ResumeScript) + "; fi"
	cmd, err := gs.ssh.Command(ctx, "stack", []string{"/bin/sh", "-c", script}, nil, gs.sw.ToolDirs())
	if err == nil {
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err = gs.ssh.Start(cmd); err == nil {
			err = cmd.Wait()
		}
		if err != nil {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
		}
	}
	if err != nil {
		h.logf("sim: resuming guest %s (%s): the agents' rejoin: %v", g.NameLabel, g.UUID, err)
	}
}

// suspendGuest keeps a running guest as its VM is suspended (to the
// suspend image image), as Xen keeps a suspended domain: its SSH server
// stops accepting and its processes are frozen where they are
// (sshd.Server.Pause), its switch and devices kept, until a resume of the
// same image (resumeKept). A guest that cannot be kept (no cgroup to
// freeze, without root) is stopped, as before: a resume then starts it
// again and brings back what its memory held (resumeGuest).
func (h *Host) suspendGuest(vmUUID, image string) error {
	unlock := h.lockGuest(vmUUID)
	h.mu.Lock()
	g, ok := h.guests[vmUUID]
	h.mu.Unlock()
	if !ok {
		unlock()
		return nil
	}
	if err := g.ssh.Pause(); err != nil {
		h.logf("sim: guest %s not kept while suspended (%v): stopped", g.name, err)
		unlock()
		return h.stopGuest(vmUUID)
	}
	h.mu.Lock()
	g.keptFor = image
	h.mu.Unlock()
	unlock()
	return nil
}

// resumeKept brings back the guest suspendGuest kept, when g is a resume
// of the same suspend image with the same VIFs; the caller holds the
// guest's lock. Otherwise (another image: the VM was reverted meanwhile;
// VIFs changed) the kept guest is left for bootGuest to replace.
func (h *Host) resumeKept(ctx context.Context, g xapid.Guest) (string, bool) {
	h.mu.Lock()
	kept, ok := h.guests[g.UUID]
	h.mu.Unlock()
	if !ok || kept.keptFor == "" || !g.Resumed || g.SuspendVDI != kept.keptFor || !sameVIFs(kept.vifs, g.VIFs) {
		return "", false
	}
	if err := kept.ssh.Resume(ctx); err != nil {
		h.logf("sim: guest %s kept while suspended cannot resume (%v): started again", g.NameLabel, err)
		return "", false
	}
	h.mu.Lock()
	kept.keptFor = ""
	h.guestResumes++
	h.mu.Unlock()
	return kept.ip, true
}

// sameVIFs says whether a guest's VIFs are still those it was started
// with (devices and MACs).
func sameVIFs(a, b []xapid.GuestVIF) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Device != b[i].Device || !strings.EqualFold(a[i].MAC, b[i].MAC) {
			return false
		}
	}
	return true
}

func (h *Host) stopGuest(vmUUID string) error {
	defer h.lockGuest(vmUUID)()
	h.mu.Lock()
	g, ok := h.guests[vmUUID]
	delete(h.guests, vmUUID)
	if ok && g.ssh != nil {
		h.goneHandshakes += g.ssh.Handshakes() // Counters keeps counting them
	}
	h.mu.Unlock()
	if !ok {
		return nil
	}
	err := g.stop()
	return errors.Join(err, h.writeKnownHosts())
}

// writeBootFacts writes what a domU reads about itself from its kernel,
// anew at each boot (PV-args and VIFs may have changed), in dir (beside
// the guest's file system, not in it), and returns how commands see them
// (sshd.Config.ReadOnlyBinds, under IsolationMountNS): the kernel command
// line at /proc/cmdline, which carries what PV-args said (devstack's domU
// read flat_network_bridge= and xen_integration_bridge= from it), and
// over this machine's /sys the VM's uuid as Xen's sysfs gives it
// (/sys/hypervisor/uuid) and the MAC of each VIF's eth<device>
// (/sys/class/net/eth<N>/address), with this machine's interfaces hidden.
func writeBootFacts(dir string, g xapid.Guest) (map[string]string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	files := map[string]string{
		"cmdline":                  g.PVArgs + "\n",
		"sys/hypervisor/uuid":      g.UUID + "\n",
		"sys/hypervisor/type":      "xen\n",
		"sys/class/net/lo/address": "00:00:00:00:00:00\n",
	}
	for _, v := range g.VIFs {
		files["sys/class/net/eth"+v.Device+"/address"] = strings.ToLower(v.MAC) + "\n"
	}
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			return nil, err
		}
	}
	// Only the guest's interfaces: the directory hides the lower layer's
	// entries in the overlay (an opaque directory; the mark needs root, as
	// the overlay does), and is bound over it too, which is what hides
	// them from a simulator that is not root (sshd's userns.go).
	netDir := filepath.Join(dir, "sys", "class", "net")
	_ = syscall.Setxattr(netDir, "trusted.overlay.opaque", []byte("y"), 0)
	return map[string]string{"/proc/cmdline": filepath.Join(dir, "cmdline"), "/sys": filepath.Join(dir, "sys"),
		"/sys/class/net": netDir}, nil
}

// guestHostname is the host name a domU named name has: the name label
// made a valid host name.
func guestHostname(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	h := strings.Trim(b.String(), "-.")
	if len(h) > 63 {
		h = h[:63]
	}
	if h == "" {
		h = "domu"
	}
	return h
}

// removeGuest deletes a destroyed VM's directory (its file system, host
// key and switch files), stopping the guest first if it still runs.
func (h *Host) removeGuest(vmUUID string) error {
	if err := h.stopGuest(vmUUID); err != nil {
		return err
	}
	if vmUUID == "" || strings.ContainsAny(vmUUID, "/\\") || vmUUID == "." || vmUUID == ".." {
		return fmt.Errorf("refusing to remove the files of VM %q", vmUUID)
	}
	return os.RemoveAll(filepath.Join(h.dir, "guests", vmUUID))
}

func (g *guest) stop() error {
	var errs []error
	if g.ssh != nil {
		errs = append(errs, g.ssh.Close())
	}
	if g.sw != nil {
		errs = append(errs, g.sw.Close())
	}
	return errors.Join(errs...)
}

// switchBuiltins are a switch's tools as sshd.Builtins: an SSH command
// that is only `ovs-vsctl ...` (or ovs-ofctl, ovs-appctl) is carried out by
// the switch in this process, as the tool's front end would have it done.
func switchBuiltins(sw ovs.Switch) map[string]sshd.Builtin {
	m := map[string]sshd.Builtin{}
	for _, t := range ovs.Tools() {
		m[filepath.Join(sw.BinDir(), t.Name)] = sshd.Builtin{
			Run: func(ctx context.Context, argv []string, stdin []byte) ([]byte, []byte, int, error) {
				r, err := sw.Exec(ctx, argv, stdin)
				return r.Stdout, r.Stderr, r.ExitCode, err
			},
			ReadsStdin: func(argv []string) bool { return t.ReadsStdin(argv[1:]) },
		}
	}
	return m
}
