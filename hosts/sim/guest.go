package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
	"xenlab/templates"
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
		kept := old.keptFor != "" && h.hnet != nil
		if kept {
			// The VM's network namespace holds the links this resume
			// plugged (hostnet.AddVIF took back the kept guest's): it
			// stays, for the new guest.
			old.release = nil
		}
		h.mu.Unlock()
		old.stop()
		if kept {
			var devices []string
			for _, v := range g.VIFs {
				devices = append(devices, "eth"+v.Device)
			}
			if err := h.hnet.Reuse(ctx, g.UUID, devices); err != nil {
				h.logf("sim: %s: its network after the kept guest: %v", g.NameLabel, err)
			}
		}
		h.mu.Lock()
	}
	used := map[string]bool{}
	for _, o := range h.guests {
		used[o.ip] = true
	}
	h.mu.Unlock()

	base := filepath.Join(h.dir, "guests", g.UUID)
	ns, err := h.guestNS(g.UUID) // its network's, with the VIFs' ends (simnet.go)
	if err != nil {
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	booted := false
	defer func() {
		if !booted && ns != nil { // the VIFs' ends go with it
			h.hnet.ReleaseGuest(g.UUID)
		}
	}()
	sw, err := h.openSwitch(ctx, filepath.Join(base, "run", "ovs"), g.NameLabel, ns)
	if err != nil {
		return "", fmt.Errorf("%s's Open vSwitch: %w", g.NameLabel, err)
	}
	for _, v := range g.VIFs {
		if ns != nil {
			break // eth<device> are the VIFs' links
		}
		if err := addLink(ctx, sw, "eth"+v.Device); err != nil {
			sw.Close()
			return "", fmt.Errorf("%s: eth%s: %w", g.NameLabel, v.Device, err)
		}
	}
	var devices []string
	for _, v := range g.VIFs {
		devices = append(devices, "eth"+v.Device)
	}
	if err := restoreGuestSwitch(ctx, sw, base, devices); err != nil {
		h.logf("sim: %s: its switch database: %v", g.NameLabel, err)
	}
	gs := &guest{name: g.NameLabel, dir: base, root: filepath.Join(base, "fs"), sw: sw, vifs: g.VIFs}
	if ns != nil {
		gs.release = func() { h.hnet.ReleaseGuest(g.UUID) }
	}
	bootID, err := guestBootID(base, g.Resumed)
	if err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	facts, err := writeBootFacts(filepath.Join(base, "boot"), g, bootID)
	if err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	skel := map[string]string{
		"/etc/hostname": g.NameLabel + "\n",
		"/etc/network/": "", // ifupdown's; its interfaces file is the guest's network (guestnet.go)
		"/opt/stack/":   "",
		"/var/log/":     "",
	}
	// devstack gives its stack user sudo without a password
	// (/etc/sudoers.d/50_stack_sh); in a simulated guest every user is
	// already uid 0, so sudo runs its command as it is.
	skel["/usr/local/bin/sudo"] = guestSudo
	for p, content := range devstack.GuestFiles() { // git clone of devstack: the stand-in
		skel[p] = content
	}
	hostKey, err := guestHostKey(base, gs.root, g)
	if err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	// The guest's addresses come from its /etc/network/interfaces (as
	// domU's ifupdown reads it at boot); a lease is a free loopback
	// address, fixed for the guest's life.
	if err := diskInterfaces(gs.root, g.DiskInterfaces); err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	if err := xenstoreInterfaces(gs.root, g); err != nil { // xenlab's first-boot job, before networking
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	confs, err := readInterfaces(gs.root)
	if err != nil {
		h.logf("sim: guest %s: %v: its interfaces stay down", g.NameLabel, err)
		confs = map[string]ifaceConf{}
	}
	next := 0
	lease := func() (string, error) {
		for ; next < 240; next++ {
			if ip := h.state.guestIP(next); !used[ip] {
				used[ip] = true
				next++
				return ip, nil
			}
		}
		return "", errors.New("no free loopback address")
	}
	gn, err := planGuestNet(confs, g.VIFs, lease, h.reachable)
	if err != nil {
		sw.Close()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
	}
	for {
		gs.ssh, err = sshd.Start(ctx, sshd.Config{
			Name:        g.NameLabel,
			Root:        gs.root,
			Addr:        net.JoinHostPort(gn.listen, strconv.Itoa(h.guestPort)),
			HostKeyFile: hostKey,
			Users: map[string]sshd.User{
				"root":  h.user("/root"),
				"stack": h.user("/opt/stack"),
			},
			Env:           []string{"PATH=" + sw.BinDir()},
			Skeleton:      skel,
			Hostname:      guestHostname(g.NameLabel),
			ReadOnlyBinds: withSwitchBinds(facts, sw),
			KeepPaths:     sw.ToolDirs(),
			Builtins:      switchBuiltins(sw),
			Isolation:     h.opts.Isolation,
			Logf:          h.logf,
			NetNS:         ns,
		})
		if err == nil {
			gs.ip, gs.nets = gn.listen, gn.nets
			if err := useSystemTools(gs.ssh, sw); err != nil {
				h.logf("sim: guest %s: its switch tools: %v", g.NameLabel, err)
			}
			break
		}
		// A leased address in use by something else: the next one. A
		// static address is the guest's own: it stays, and fails.
		static := false
		for k, v := range gn.nets {
			static = static || (v == gn.listen && confs[strings.TrimSuffix(k, "/ip")].static)
		}
		old := gn.listen
		if gn.listen, _ = lease(); static || gn.listen == "" {
			sw.Close()
			return "", fmt.Errorf("%s: no loopback address for its SSH server at %s: %w", g.NameLabel, old, err)
		}
		for k, v := range gn.nets {
			if v == old {
				gn.nets[k] = gn.listen
			}
		}
	}
	if err := h.guestAddresses(ctx, g.UUID, gn.nets, confs); err != nil {
		gs.stop()
		return "", fmt.Errorf("%s: %w", g.NameLabel, err)
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
	booted = true
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
	// With a network of the host's own (simnet.go) the VIFs' links were
	// parked, not removed (xapid.PortParker, hostnet.ParkVIF): the guest
	// keeps its devices and their addresses for the resume.
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
// (/sys/hypervisor/uuid), the MAC of each VIF's eth<device>
// (/sys/class/net/eth<N>/address), with this machine's interfaces hidden,
// the size of each disk (/sys/block/xvd<x>/size), and the boot's id at
// /proc/sys/kernel/random/boot_id (guestBootID).
func writeBootFacts(dir string, g xapid.Guest, bootID string) (map[string]string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	files := map[string]string{
		"cmdline":                  g.PVArgs + "\n",
		"boot_id":                  bootID + "\n",
		"sys/hypervisor/uuid":      g.UUID + "\n",
		"sys/hypervisor/type":      "xen\n",
		"sys/class/net/lo/address": "00:00:00:00:00:00\n",
	}
	for _, v := range g.VIFs {
		files["sys/class/net/eth"+v.Device+"/address"] = strings.ToLower(v.MAC) + "\n"
	}
	// Each disk as the guest's blkfront shows it: /sys/block/xvd<x>/size
	// in 512-byte sectors (the root disk xvda, devstack's extra xvdb).
	for _, d := range g.Disks {
		if n, err := strconv.Atoi(d.Userdevice); err == nil && n >= 0 && n < 26 {
			files["sys/block/xvd"+string(rune('a'+n))+"/size"] = strconv.FormatInt(d.Size/512, 10) + "\n"
		}
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
	return map[string]string{"/proc/cmdline": filepath.Join(dir, "cmdline"), "/proc/sys/kernel/random/boot_id": filepath.Join(dir, "boot_id"),
		"/sys": filepath.Join(dir, "sys"), "/sys/class/net": netDir}, nil
}

// guestBootID is the boot_id of a guest's boot (random(4): a random uuid
// the kernel makes at each boot): a new one, or after a resume the one the
// guest had when it was suspended, since its memory, kernel included, is
// what it was. It is kept in the guest's directory, beside its file system.
func guestBootID(base string, resumed bool) (string, error) {
	p := filepath.Join(base, "boot_id")
	if resumed {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) == 36 {
			return strings.TrimSpace(string(b)), nil
		}
	}
	b := []byte(randomHex(16))
	id := fmt.Sprintf("%s-%s-4%s-a%s-%s", b[0:8], b[8:12], b[13:16], b[17:20], b[20:32])
	return id, os.WriteFile(p, []byte(id+"\n"), 0o644)
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

// stop ends the guest: its switch's database is kept for its next boot
// (guestovsdb.go), then its SSH server and switch stop.
func (g *guest) stop() error {
	var errs []error
	if g.sw != nil && g.dir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := saveGuestSwitch(ctx, g.sw, g.dir); err != nil {
			errs = append(errs, fmt.Errorf("%s: keeping its switch database: %w", g.name, err))
		}
		cancel()
	}
	if g.ssh != nil {
		errs = append(errs, g.ssh.Close())
	}
	if g.sw != nil {
		errs = append(errs, g.sw.Close())
	}
	if g.release != nil {
		g.release()
	}
	return errors.Join(errs...)
}

// switchBuiltins are a switch's tools as sshd.Builtins: an SSH command
// that is only `ovs-vsctl ...` (or ovs-ofctl, ovs-appctl) is carried out by
// the switch in this process, as the tool's front end would have it done.
// That holds too where the host runs the real program from its PATH
// (useSystemTools took the front end out of BinDir): BinDir comes first on
// every host's PATH, and sshd takes a builtin by its name there before it
// looks for a file.
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

// withSwitchBinds adds to a host's read-only binds the switch's
// (ovs.HostBinds: a real switch's run directory where the tools look for
// it by default).
func withSwitchBinds(binds map[string]string, sw ovs.Switch) map[string]string {
	out := maps.Clone(binds)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, ovs.HostBinds(sw))
	return out
}

// useSystemTools lets a host whose commands run in a root of their own
// (which shows the switch's run directory where the tools look for it)
// run the real switch tools that need nothing of the simulator straight
// from its PATH (ovs.UseSystemTool).
func useSystemTools(srv *sshd.Server, sw ovs.Switch) error {
	if srv.Isolation() != sshd.IsolationMountNS {
		return nil
	}
	for _, t := range ovs.Tools() {
		if err := ovs.UseSystemTool(sw, t.Name); err != nil {
			return err
		}
	}
	return nil
}

// guestHostKey is the host key file the guest's sshd serves. A guest whose
// template has xenlab's first-boot job (templates.HostKeyJobKey; the
// simulator's prebuilt template has it, as xenlab's preseed installs it)
// does what the job does in a real guest, at every boot before sshd
// starts: when xenstore has templates.HostKeyXenstoreKey (the VM's
// xenstore_data, which xapi writes into the domain's xenstore at start)
// it installs that key as templates.HostKeyFile in the guest's own file
// system, and sshd serves it. Otherwise sshd serves the key the guest
// made itself (when openssh-server was installed), kept beside its files.
// A value that is no key is what the job would fail on: the guest keeps
// its own key, and xenlab's check of it names the mismatch.
func guestHostKey(base, root string, g xapid.Guest) (string, error) {
	own := filepath.Join(base, "ssh_host_ed25519_key")
	v, ok := g.VMData[templates.HostKeyXenstoreKey]
	if !ok || g.OtherConfig[templates.HostKeyJobKey] == "" {
		return own, nil
	}
	pemKey, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return own, nil
	}
	signer, err := ssh.ParsePrivateKey(pemKey)
	if err != nil {
		return own, nil
	}
	file := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(templates.HostKeyFile, "/")))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, pemKey, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return "", err
	}
	return file, nil
}

// guestSudo is the simulated guest's sudo: options (and -u's user, -g's
// group) are read and dropped, the command runs as it is.
const guestSudo = `#!/bin/sh
# sudo of a guest of xenlab's simulated XenServer host: every user is
# uid 0 here, as devstack's stack user may sudo anything without a
# password; the options are dropped and the command runs as it is.
while [ $# -gt 0 ]; do
    case $1 in
    -u | -g | -p | -C | -h | -r | -t | -U) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: sudo command" >&2; exit 1; }
exec "$@"
`
