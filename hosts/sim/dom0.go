package sim

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"xenlab/hosts/sim/hostnet"
	"xenlab/hosts/sim/ifconfig"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
	"xenlab/hosts/sim/xe"
	hostssh "xenlab/hosts/ssh"
)

// dom0Host is the Host the simulated xapi drives: dom0's switch, file system
// and the guests. It is a named view of Host so that xapid's callbacks stay
// out of Host's public methods.
type dom0Host Host

var (
	_ xapid.Host           = (*dom0Host)(nil)
	_ xapid.PortLister     = (*dom0Host)(nil)
	_ xapid.GuestRemover   = (*dom0Host)(nil)
	_ xapid.Dom0Runner     = (*dom0Host)(nil)
	_ xapid.SwitchResetter = (*dom0Host)(nil)
	_ xapid.BridgeLabeler  = (*dom0Host)(nil)
)

// vsctl runs one ovs-vsctl command line on a switch and turns a non-zero
// exit into an error that carries the command and what it printed.
func vsctl(ctx context.Context, sw ovs.Switch, host string, args ...string) error {
	argv := append([]string{"ovs-vsctl"}, args...)
	res, err := sw.Exec(ctx, argv, nil)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", host, strings.Join(argv, " "), err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s: %s: exit %d: %s", host, strings.Join(argv, " "), res.ExitCode,
			strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// addLink creates the network device a system port needs, where the switch
// can (a tap device in a real switch's namespace, or the model's device).
func addLink(ctx context.Context, sw ovs.Switch, name string) error {
	if l, ok := sw.(ovs.Linker); ok {
		return l.AddLink(ctx, name)
	}
	return nil
}

func (d *dom0Host) EnsureBridge(ctx context.Context, bridge string) error {
	if err := vsctl(ctx, d.dom0SW, "dom0", "--may-exist", "add-br", bridge); err != nil {
		return err
	}
	return (*Host)(d).managementUp(ctx, bridge)
}

// DeleteBridges empties dom0's switch as the openvswitch init script of
// XenServer does at boot (--delete-bridges): every bridge goes, with its
// ports and flows, and the VIF ports' network devices; the rest of the
// database stays.
func (d *dom0Host) DeleteBridges(ctx context.Context) error {
	res, err := d.dom0SW.Exec(ctx, []string{"ovs-vsctl", "list-br"}, nil)
	if err != nil {
		return err
	}
	for _, br := range strings.Fields(string(res.Stdout)) {
		ports, err := d.BridgePorts(ctx, br)
		if err != nil {
			return err
		}
		if err := vsctl(ctx, d.dom0SW, "dom0", "--if-exists", "del-br", br); err != nil {
			return err
		}
		(*Host)(d).vswitchdLogf("bridge %s: deleted (--delete-bridges at boot)", br)
		if l, ok := d.dom0SW.(ovs.Linker); ok {
			for _, p := range ports {
				if strings.HasPrefix(p, "vif") {
					if err := l.DelLink(ctx, p); err != nil {
						return fmt.Errorf("dom0: device %s: %w", p, err)
					}
				}
			}
		}
	}
	return nil
}

// EnsureLabelledBridge is EnsureBridge with the bridge's external_ids set
// in the same ovs-vsctl transaction, as xapi's network backend creates a
// bridge (xen-api ocaml/network/network_utils.ml create_bridge); the
// management bridge gets eth0 in it too. One command where EnsureBridge
// and a labelling took two or three: a VIF plug is a bridge and a port.
func (d *dom0Host) EnsureLabelledBridge(ctx context.Context, bridge string, externalIDs map[string]string) error {
	keys := make([]string, 0, len(externalIDs))
	for k := range externalIDs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{"--may-exist", "add-br", bridge}
	for _, k := range keys {
		args = append(args, "--", "br-set-external-id", bridge, k, externalIDs[k])
	}
	h := (*Host)(d)
	mgmt := h.hnet != nil && bridge == xapid.ManagementBridge
	if mgmt {
		args = append(args, "--", "--may-exist", "add-port", bridge, "eth0")
	}
	if err := vsctl(ctx, d.dom0SW, "dom0", args...); err != nil {
		return err
	}
	if mgmt {
		return h.hnet.ManagementUp(ctx, bridge)
	}
	return nil
}

func (d *dom0Host) RemoveBridge(ctx context.Context, bridge string) error {
	return vsctl(ctx, d.dom0SW, "dom0", "--if-exists", "del-br", bridge)
}

func (d *dom0Host) AddPort(ctx context.Context, bridge, port string, externalIDs map[string]string) error {
	if err := (*Host)(d).addDom0Link(ctx, port, externalIDs); err != nil {
		return fmt.Errorf("dom0: device %s: %w", port, err)
	}
	args := []string{"--may-exist", "add-port", bridge, port}
	if len(externalIDs) > 0 {
		keys := make([]string, 0, len(externalIDs))
		for k := range externalIDs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		args = append(args, "--", "set", "Interface", port)
		for _, k := range keys {
			args = append(args, fmt.Sprintf("external_ids:%s=%q", k, externalIDs[k]))
		}
	}
	if err := vsctl(ctx, d.dom0SW, "dom0", args...); err != nil {
		return err
	}
	(*Host)(d).vswitchdLogf("bridge %s: added interface %s", bridge, port)
	return nil
}

// RemovePort takes a VIF's port off the bridge and removes its network
// device, as netback does on unplug, so a later plug can create it again.
func (d *dom0Host) RemovePort(ctx context.Context, bridge, port string) error {
	if err := vsctl(ctx, d.dom0SW, "dom0", "--if-exists", "del-port", bridge, port); err != nil {
		return err
	}
	(*Host)(d).vswitchdLogf("bridge %s: deleted interface %s", bridge, port)
	if err := (*Host)(d).delDom0Link(ctx, port); err != nil {
		return fmt.Errorf("dom0: device %s: %w", port, err)
	}
	return nil
}

// ParkPort takes a suspended VM's VIF port off the bridge as RemovePort
// does, but with a network of the host's own keeps its link to the guest,
// which is kept too (suspendGuest), for the resume to plug again
// (hostnet.ParkVIF): Xen keeps a suspended domain's state, and the new
// domain's backend devices take its place.
func (d *dom0Host) ParkPort(ctx context.Context, bridge, port, vm string) error {
	h := (*Host)(d)
	if _, _, ok := hostnet.ParseVIF(port); !ok || h.hnet == nil {
		return d.RemovePort(ctx, bridge, port)
	}
	if err := vsctl(ctx, d.dom0SW, "dom0", "--if-exists", "del-port", bridge, port); err != nil {
		return err
	}
	h.vswitchdLogf("bridge %s: deleted interface %s", bridge, port)
	return h.hnet.ParkVIF(ctx, port, vm)
}

func (d *dom0Host) Dom0Path(p string) string { return d.dom0.HostPath(p) }

// Dom0Env is root's environment in dom0, as its SSH server gives commands:
// plugins see the same PATH (dom0's ovs-vsctl first) as a shell in dom0.
func (d *dom0Host) Dom0Env() []string { return d.dom0.Env("root") }

// Dom0Command runs a plugin as dom0's other processes run: as root, in
// dom0's own root and cgroup.
func (d *dom0Host) Dom0Command(ctx context.Context, argv, env, machineDirs []string) (*exec.Cmd, error) {
	return d.dom0.Command(ctx, "root", argv, env, machineDirs)
}

// Dom0Start starts a command of Dom0Command (sshd.Server.Start).
func (d *dom0Host) Dom0Start(cmd *exec.Cmd) error { return d.dom0.Start(cmd) }

func (d *dom0Host) BootGuest(ctx context.Context, g xapid.Guest) (string, error) {
	return (*Host)(d).bootGuest(ctx, g)
}

// SuspendGuest keeps the guest while its VM is suspended
// (xapid.GuestSuspender).
func (d *dom0Host) SuspendGuest(ctx context.Context, vmUUID, image string) error {
	return (*Host)(d).suspendGuest(vmUUID, image)
}

// GuestNetworks implements xapid.GuestNetworker: the addresses the
// running guest's interfaces have.
func (d *dom0Host) GuestNetworks(vmUUID string) map[string]string {
	h := (*Host)(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.guests[vmUUID]
	if !ok {
		return nil
	}
	return maps.Clone(g.nets)
}

func (d *dom0Host) StopGuest(ctx context.Context, vmUUID string) error {
	return (*Host)(d).stopGuest(vmUUID)
}

func (d *dom0Host) RemoveGuest(ctx context.Context, vmUUID string) error {
	return (*Host)(d).removeGuest(vmUUID)
}

// dom0Skeleton is what a dom0 of the release has that xenlab reads.
func dom0Skeleton(r xapid.Release) map[string]string {
	return map[string]string{
		"/etc/xensource/network.conf": "openvswitch\n",
		"/etc/xapi.d/plugins/":        "",
		"/etc/redhat-release":         r.ProductBrand + " release " + r.ProductVersion + "-" + r.BuildNumber + " (xenenterprise)\n",
		"/var/log/":                   "",
		ovsdbLog:                      "", // the switch's database logs nothing xenlab reads
		"/opt/xensource/www/":         "", // xapi's web root (xapid.WebRoot)
	}
}

// dom0PythonDir is where, under IsolationMountNS, dom0's commands see
// the interpreter's installation when the host's own trees would hide it
// (a pyenv Python under this machine's /root).
const dom0PythonDir = "/usr/local/lib/xenlab-python"

// pythonBinds shows the interpreter's installation (the directory above
// its bin) in dom0's tree when a root of dom0's own would hide it: only
// this machine's system directories (/usr but /usr/local, /bin, /sbin,
// /lib*) are seen there.
func pythonBinds(interpreter string) map[string]string {
	visible := strings.HasPrefix(interpreter, "/usr/") && !strings.HasPrefix(interpreter, "/usr/local/")
	for _, d := range []string{"/bin/", "/sbin/", "/lib"} {
		visible = visible || strings.HasPrefix(interpreter, d)
	}
	if visible {
		return nil
	}
	return map[string]string{dom0PythonDir: filepath.Dir(filepath.Dir(interpreter))}
}

// dom0Binds are the machine directories dom0's commands see in their
// own root: the plugin interpreter's and this program's (dom0's xe).
func dom0Binds(interpreter string) map[string]string {
	binds := xeBinds()
	if binds == nil {
		binds = map[string]string{}
	}
	for k, v := range pythonBinds(interpreter) {
		binds[k] = v
	}
	return binds
}

// linkDom0Python makes dom0's `python` (/usr/local/bin/python, on the PATH
// of its commands) the interpreter plugins run under, so that
// `#!/usr/bin/env python` and a `python` typed in dom0 find the release's
// Python: a link to the interpreter, or a wrapper running its bound copy
// under dom0PythonDir when commands run in a mount namespace that hides it. It is re-pointed
// at every start: the machine's may have moved.
func linkDom0Python(dom0 *sshd.Server, interpreter string) error {
	dir := dom0.HostPath("/usr/local/bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	link := filepath.Join(dir, "python")
	tmp := link + ".new"
	os.Remove(tmp)
	var err error
	if dom0.Isolation() == sshd.IsolationMountNS && pythonBinds(interpreter) != nil {
		// The bound copy's libpython is not where the binary's run path
		// says (pyenv builds with -rpath <prefix>/lib): a wrapper says where.
		script := "#!/bin/sh\n# dom0's python: this machine's " + interpreter + ", seen at " + dom0PythonDir + "\n" +
			"LD_LIBRARY_PATH=" + dom0PythonDir + "/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec " +
			shellQuote(path.Join(dom0PythonDir, "bin", filepath.Base(interpreter))) + " \"$@\"\n"
		err = os.WriteFile(tmp, []byte(script), 0o755)
	} else {
		err = os.Symlink(interpreter, tmp)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

var shellQuote = hostssh.ShellQuote

// inventory is dom0's /etc/xensource-inventory as a host of the release
// has it, with the keys xen-api's ocaml/util/util_inventory.ml requires
// (INSTALLATION_UUID, CONTROL_DOMAIN_UUID, MANAGEMENT_INTERFACE,
// MANAGEMENT_ADDRESS_TYPE, BUILD_NUMBER): the host's uuid, dom0's VM uuid,
// the management bridge.
func inventory(r xapid.Release, hostUUID, dom0UUID string) string {
	var b strings.Builder
	for _, kv := range [][2]string{
		{"PRODUCT_BRAND", r.ProductBrand}, {"PRODUCT_VERSION", r.ProductVersion}, {"BUILD_NUMBER", r.BuildNumber},
		{"XEN_VERSION", r.Xen}, {"KERNEL_VERSION", r.Linux},
		{"INSTALLATION_UUID", hostUUID}, {"CONTROL_DOMAIN_UUID", dom0UUID},
		{"MANAGEMENT_INTERFACE", xapid.ManagementBridge}, {"MANAGEMENT_ADDRESS_TYPE", "IPv4"},
		{"CURRENT_INTERFACES", xapid.ManagementBridge},
	} {
		fmt.Fprintf(&b, "%s='%s'\n", kv[0], kv[1])
	}
	return b.String()
}

// dom0XeDir is where, under IsolationMountNS, dom0's commands see the
// directory of this program, which is dom0's xe.
const dom0XeDir = "/usr/local/lib/xenlab-xe"

// xeBinds shows this program's directory in dom0's tree, where a root of
// dom0's own would hide it.
func xeBinds() map[string]string {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return map[string]string{dom0XeDir: filepath.Dir(exe)}
}

// startDom0Services does what dom0's start-up does once xapi runs: xapi's
// local socket (/var/xapi/xapi, where dom0's xe connects), the inventory
// naming the host and dom0 as xapi knows them, and dom0's xe and
// xe-toolstack-restart on its PATH (links to this program, which runs
// package xe when started under those names).
func (h *Host) startDom0Services(ctx context.Context) error {
	if err := h.xapi.ListenLocal(context.WithoutCancel(ctx), h.dom0.HostPath(xapid.LocalSocket)); err != nil {
		return err
	}
	hostUUID, dom0UUID := h.xapi.Inventory()
	if err := os.WriteFile(h.dom0.HostPath("/etc/xensource-inventory"), []byte(inventory(h.release, hostUUID, dom0UUID)), 0o644); err != nil {
		return fmt.Errorf("dom0's inventory: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("dom0's xe: %w", err)
	}
	target := exe
	if h.dom0.Isolation() == sshd.IsolationMountNS {
		target = path.Join(dom0XeDir, filepath.Base(exe))
	}
	dir := h.dom0.HostPath("/usr/local/bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := xe.Names
	if strings.HasPrefix(h.release.ProductVersion, "6.") {
		// XenServer 6.x's dom0 is CentOS 5: net-tools 1.60's ifconfig,
		// whose format the scripts of that era parse. Later releases'
		// (CentOS 7, net-tools 2.0) print as this machine's does.
		names = append(slices.Clip(names), ifconfig.Name)
	} else if l := filepath.Join(dir, ifconfig.Name); isLinkTo(l, target) {
		os.Remove(l) // left by a start of this directory as 6.x
	}
	for _, name := range names {
		link := filepath.Join(dir, name)
		os.Remove(link + ".new")
		if err := os.Symlink(target, link+".new"); err != nil {
			return fmt.Errorf("dom0's %s: %w", name, err)
		}
		if err := os.Rename(link+".new", link); err != nil {
			return fmt.Errorf("dom0's %s: %w", name, err)
		}
	}
	return nil
}

// isLinkTo says whether path is a symbolic link to target.
func isLinkTo(path, target string) bool {
	t, err := os.Readlink(path)
	return err == nil && t == target
}

// BridgePorts lists the ports on a dom0 bridge, so xapi keeps a bridge that
// still carries other interfaces (the dom0 agent's patch ports) when the
// last VIF leaves it. A missing bridge has none.
func (d *dom0Host) BridgePorts(ctx context.Context, bridge string) ([]string, error) {
	res, err := d.dom0SW.Exec(ctx, []string{"ovs-vsctl", "list-ports", bridge}, nil)
	if err != nil {
		return nil, fmt.Errorf("dom0: ovs-vsctl list-ports %s: %w", bridge, err)
	}
	if res.ExitCode != 0 {
		return nil, nil
	}
	return strings.Fields(string(res.Stdout)), nil
}
