package devstack_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/scripts"
	"xenlab/secret"
)

// lab is a simulated host with domU booted as install_os_domU.sh leaves
// it: VIFs on the management (0), VM (1) and integration (3) networks,
// PV-args naming the two dom0 bridges, and dom0's netwrap installed.
type lab struct {
	t          *testing.T
	ctx        context.Context
	h          *sim.Host
	c          *xapi.Client
	dom0, domu *sshc.Client
	password   string
	xapiURL    string
	intBr      string // dom0's integration bridge
	vmBr       string // dom0's bridge of the VM network
	intNet     xapi.Ref
	vm         xapi.Ref // domU
	ep         sim.Endpoints
	sshPort    int
}

func needs(t *testing.T) {
	t.Helper()
	// Without a root of their own for the guests (as root, or through
	// user namespaces), bootLab skips.
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on this machine: a guest's git clone needs it")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "from os_xenapi.client import XenAPI").Run(); err != nil {
		t.Skip("no /usr/bin/python3 with Debian's XenAPI module (python3-os-xenapi): the stand-in's rootwrap needs it")
	}
}

func bootLab(t *testing.T, mode ovs.Mode) *lab {
	needs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: mode, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ep := h.Endpoints()
	if ep.Isolation != string(sshd.IsolationMountNS) {
		t.Skipf("the guests' commands have no root of their own here (%s)", ep.Isolation)
	}
	pw, err := os.ReadFile(ep.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{t: t, ctx: ctx, h: h, password: strings.TrimSpace(string(pw)), xapiURL: ep.XAPIHTTPURL}
	l.c, err = xapi.Dial(ctx, xapi.Options{URL: ep.XAPIURL, User: "root", Password: secret.New(l.password),
		Fingerprint: ep.XAPIFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.c.Close(context.Background()) })
	l.dom0, err = sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: ep.Dom0SSH, User: "root",
		KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.dom0.Close() })
	if _, err := l.dom0.UploadBytes(ctx, scripts.Netwrap, "/etc/xapi.d/plugins/netwrap", 0o755); err != nil {
		t.Fatal(err)
	}

	tmpl, err := l.c.VMGetByNameLabel(ctx, "jeos_template_for_devstack")
	if err != nil || len(tmpl) != 1 {
		t.Fatalf("template: %v %v", tmpl, err)
	}
	vm := l.must1(l.c.VMClone(ctx, tmpl[0], "DevStackOSDomU"))
	l.must(l.c.VMProvision(ctx, vm))
	l.must(l.c.VMSetIsATemplate(ctx, vm, false))
	hosts := l.must1s(l.c.HostGetAll(ctx))
	mgmt, _, err := l.c.ManagementNetwork(ctx, hosts[0])
	l.must(err)
	vmNet := l.must1(l.c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Network"}))
	l.intNet = l.must1(l.c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Integration Network"}))
	l.vmBr = l.str(l.c.NetworkGetBridge(ctx, vmNet))
	l.intBr = l.str(l.c.NetworkGetBridge(ctx, l.intNet))
	for dev, n := range map[string]xapi.Ref{"0": mgmt, "1": vmNet, "3": l.intNet} {
		l.must1(l.c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: n, Device: dev}))
	}
	_, err = l.c.Call(ctx, "VM.set_PV_args", vm,
		"-- quiet console=hvc0 flat_network_bridge="+l.vmBr+" xen_integration_bridge="+l.intBr)
	l.must(err)
	l.must(l.c.VMStart(ctx, vm, false, false))
	cfg, err := localrc.Load(ep.LabFile)
	l.must(err)
	l.vm, l.ep, l.sshPort = vm, ep, cfg.DomU.SSHPort
	l.dialDomU()
	t.Cleanup(func() { l.domu.Close() })
	return l
}

// dialDomU connects to domU as stack once it reports its address.
func (l *lab) dialDomU() {
	ip := l.str(l.c.WaitGuestIP(l.ctx, l.vm, "0"))
	if l.domu != nil {
		l.domu.Close()
	}
	var err error
	l.domu, err = sshc.Dial(l.ctx, sshc.Config{Host: "domU", Addr: ip + ":" + strconv.Itoa(l.sshPort),
		User: "stack", KeyFiles: []string{l.ep.SSHKey}, KnownHosts: []string{l.ep.KnownHosts}, Keepalive: -1})
	l.must(err)
}

func (l *lab) must(err error) {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) must1(r xapi.Ref, err error) xapi.Ref {
	l.t.Helper()
	l.must(err)
	return r
}

func (l *lab) must1s(r []xapi.Ref, err error) []xapi.Ref {
	l.t.Helper()
	l.must(err)
	return r
}

func (l *lab) str(s string, err error) string {
	l.t.Helper()
	l.must(err)
	return s
}

// run runs cmd and returns its result, whatever its exit status.
func (l *lab) run(cl *sshc.Client, cmd string) sshc.Result {
	l.t.Helper()
	res, err := cl.Run(l.ctx, cmd)
	var re *sshc.RunError
	if err != nil && !(errors.As(err, &re) && re.ExitStatus > 0) {
		l.t.Fatalf("%s: %v", cmd, err)
	}
	return res
}

// out runs cmd, which must succeed, and returns its trimmed stdout.
func (l *lab) out(cl *sshc.Client, cmd string) string {
	l.t.Helper()
	res := l.run(cl, cmd)
	if res.ExitStatus != 0 {
		l.t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", cmd, res.ExitStatus, res.Stdout, res.Stderr)
	}
	return strings.TrimSpace(string(res.Stdout))
}

func (l *lab) put(path, content string, mode os.FileMode) {
	l.t.Helper()
	if _, err := l.domu.UploadBytes(l.ctx, []byte(content), path, mode); err != nil {
		l.t.Fatalf("%s: %v", path, err)
	}
}

// Hand-written files, as xenlab's agents step is to write them.
const localrcText = `# localrc of the lab (hand-written for the test)
XENAPI_PASSWORD=%[3]s
XENAPI_CONNECTION_URL="%[1]s"
XENAPI_USER=root
VIRT_DRIVER=xenserver
ENABLED_SERVICES=g-api,key,n-api,n-cpu,mysql,rabbit
ENABLED_SERVICES+=,quantum,q-svc,q-agt,q-dhcp,q-l3,q-meta,q-domua,-n-net
Q_PLUGIN=openvswitch
ENABLE_TENANT_VLANS=True
OVS_VLAN_RANGES=physnet1:1000:1024
Q_USE_SECGROUP=False
`

const qAgtText = `[ovs]
tenant_network_type = vlan
network_vlan_ranges = physnet1:1000:1024
integration_bridge = %[1]s
bridge_mappings = physnet1:%[2]s

[agent]
root_helper = neutron-rootwrap-xen-dom0 /etc/neutron/rootwrap.conf
`

const qDomUAText = `[ovs]
tenant_network_type = vlan
network_vlan_ranges = physnet1:1000:1024
integration_bridge = br-int
bridge_mappings = physnet1:br-eth1

[agent]
root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf
`

const rootwrapText = `[DEFAULT]
filters_path=/etc/neutron/rootwrap.d
exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin

[xenapi]
xenapi_connection_url=%[1]s
xenapi_connection_username=root
xenapi_connection_password=%[2]s
`

const (
	devstackDir = "/opt/stack/devstack"
	qAgtPath    = "/etc/neutron/plugins/openvswitch/ovs_neutron_plugin.ini"
	rootwrap    = "/etc/neutron/rootwrap.conf"
)

func (l *lab) writeFiles() {
	l.out(l.domu, "mkdir -p /etc/neutron/plugins/openvswitch")
	l.put(devstackDir+"/localrc", fmt.Sprintf(localrcText, l.xapiURL, "", l.password), 0o600)
	l.put(qAgtPath, fmt.Sprintf(qAgtText, l.intBr, l.vmBr), 0o600)
	l.put(qAgtPath+".domU", qDomUAText, 0o600)
	l.put(rootwrap, fmt.Sprintf(rootwrapText, l.xapiURL, l.password), 0o600)
}

// switches is what both switches hold (bridges, ports, tags, patch
// peers, flows), to compare before and after; one SSH command per host.
func (l *lab) switches() string {
	var b strings.Builder
	for _, cl := range []*sshc.Client{l.dom0, l.domu} {
		b.WriteString(l.out(cl, `ovs-vsctl show && for br in $(ovs-vsctl list-br); do echo "$br:"; ovs-ofctl dump-flows --no-stats "$br" || exit 1; done`))
		b.WriteString("\n----\n")
	}
	return b.String()
}

func (l *lab) stack(script string) sshc.Result {
	l.t.Helper()
	start := time.Now()
	res := l.run(l.domu, "cd "+devstackDir+" && ./"+script)
	l.t.Logf("%s: exit %d after %v", script, res.ExitStatus, time.Since(start))
	if strings.Contains(string(res.Stdout)+string(res.Stderr), l.password) {
		l.t.Fatalf("%s printed the xapi password", script)
	}
	return res
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestStandIn: git clone of a devstack URL gives the stand-in; with the
// lab's files, stack.sh makes the walk-through's switches in domU and (only
// through netwrap) in dom0; each broken input fails stack.sh with a last
// line that names it; rejoin-stack.sh changes nothing on a running lab;
// unstack.sh leaves both switches as they were before stack.sh.
func TestStandIn(t *testing.T) {
	for _, mode := range []ovs.Mode{ovs.ModeModel, ovs.ModeReal} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel() // a simulated host of its own
			if mode == ovs.ModeReal {
				if testing.Short() {
					t.Skip("-short: the model's run covers the stand-in; real Open vSwitch doubles the time")
				}
				if err := ovs.RealAvailable(); err != nil {
					t.Skipf("real Open vSwitch cannot run here: %v", err)
				}
			}
			testStandIn(t, mode)
		})
	}
}

func testStandIn(t *testing.T, mode ovs.Mode) {
	l := bootLab(t, mode)

	l.out(l.domu, "cd /opt/stack && git clone -q -b stable/havana https://opendev.org/openstack/devstack.git devstack")
	if got := l.out(l.domu, "cd "+devstackDir+" && git rev-parse --abbrev-ref HEAD && git remote get-url origin && head -1 README"); !strings.Contains(got, "stable/havana\nhttps://opendev.org/openstack/devstack.git\nxenlab's devstack stand-in -- THIS IS NOT DEVSTACK.") {
		t.Fatalf("the clone is not the stand-in on the branch asked for:\n%s", got)
	}
	if res := l.run(l.domu, "cd /opt/stack && git clone https://opendev.org/openstack/devstack.git devstack"); res.ExitStatus != 128 {
		t.Fatalf("a clone into a non-empty directory: exit %d, want git's 128", res.ExitStatus)
	}
	l.writeFiles()
	// domU's placeholder port carries a tag before stack.sh (xenlab's
	// placeholder step gives it one): stack.sh marks it dead, and only
	// the former tag mark_dead_ports read gives it back at unstack.sh. Not
	// DEAD_VLAN_TAG, which a port never given back would keep.
	tagPlaceholder := func() {
		l.out(l.dom0, `for p in $(ovs-vsctl list-ports `+l.intBr+`); do case $p in vif*) ovs-vsctl set Port "$p" tag=7 ;; esac; done`)
	}
	tagPlaceholder()
	before := l.switches()
	if !strings.Contains(before, "tag: 7") {
		t.Fatalf("dom0's placeholder port has no tag 7:\n%s", before)
	}

	// Each broken input fails stack.sh before it changes anything, with a
	// last line naming the cause.
	breaks := []struct {
		name         string
		breakIt      string // shell command (dom0 when inDom0)
		fix          string
		inDom0       bool
		wantLastLine string
	}{
		{"netwrap missing", "mv /etc/xapi.d/plugins/netwrap /root/netwrap", "mv /root/netwrap /etc/xapi.d/plugins/netwrap", true,
			"dom0 has no xapi plugin 'netwrap' (XENAPI_MISSING_PLUGIN)"},
		{"wrong xapi password", "sed -i 's/^xenapi_connection_password=.*/xenapi_connection_password=wrong/' " + rootwrap, "", false,
			"SESSION_AUTHENTICATION_FAILED (wrong xenapi_connection_username or xenapi_connection_password in /etc/neutron/rootwrap.conf)"},
		{"wrong integration bridge", "sed -i 's/^integration_bridge = .*/integration_bridge = xapi99/' " + qAgtPath, "", false,
			"integration_bridge=xapi99 is not a bridge in dom0"},
		{"missing Q_PLUGIN", "sed -i '/^Q_PLUGIN=/d' " + devstackDir + "/localrc", "", false,
			"localrc: Q_PLUGIN is not set (Havana's default is ml2), need Q_PLUGIN=openvswitch"},
		{"q-domua not enabled", "sed -i 's/,q-domua//' " + devstackDir + "/localrc", "", false,
			"localrc: ENABLED_SERVICES does not enable q-domua"},
		{"no xenapi_connection_password", "sed -i '/^xenapi_connection_password=/d' " + rootwrap, "", false,
			"/etc/neutron/rootwrap.conf: no xenapi_connection_password in [xenapi]"},
	}
	for _, b := range breaks {
		cl := l.domu
		if b.inDom0 {
			cl = l.dom0
		}
		l.out(cl, b.breakIt)
		res := l.stack("stack.sh")
		last := lastLine(res.Stderr)
		t.Logf("%s: %s", b.name, last)
		if res.ExitStatus == 0 || !strings.Contains(last, b.wantLastLine) || !strings.HasPrefix(last, "stack.sh failed: ") {
			t.Errorf("%s: stack.sh exit %d, last line %q, want one containing %q\nstdout:\n%s", b.name,
				res.ExitStatus, last, b.wantLastLine, res.Stdout)
		}
		if l.run(l.domu, "test -e "+devstack.Marker).ExitStatus == 0 {
			t.Errorf("%s: the marker %s exists after a failed stack.sh", b.name, devstack.Marker)
		}
		if b.fix != "" {
			l.out(cl, b.fix)
		} else {
			l.writeFiles()
		}
	}
	if got := l.switches(); got != before {
		t.Fatalf("a failed stack.sh changed the switches:\n%s\nwant\n%s", got, before)
	}

	res := l.stack("stack.sh")
	if res.ExitStatus != 0 || !strings.HasPrefix(lastLine(res.Stdout), "stack.sh completed in ") {
		t.Fatalf("stack.sh: exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitStatus, res.Stdout, res.Stderr)
	}
	if got := l.out(l.domu, "cat "+devstack.Marker); !strings.HasPrefix(got, "stack.sh completed in ") {
		t.Fatalf("marker: %q", got)
	}
	l.checkSwitches()
	up := l.switches()
	l.wantAgents(2, "after stack.sh")
	// Havana's stack.sh refuses to run beside its running session.
	if res := l.stack("stack.sh"); res.ExitStatus != 1 || !strings.Contains(string(res.Stdout), "You are already running a stack.sh session.") {
		t.Fatalf("stack.sh beside running agents: exit %d\n%s%s", res.ExitStatus, res.Stdout, res.Stderr)
	}

	// rejoin-stack.sh on a running lab attaches: the switches stay.
	if res := l.stack("rejoin-stack.sh"); res.ExitStatus != 0 || !strings.Contains(string(res.Stdout), "Attaching to already started screen session..") {
		t.Fatalf("rejoin-stack.sh: exit %d\n%s%s", res.ExitStatus, res.Stdout, res.Stderr)
	}
	if got := l.switches(); got != up {
		t.Fatalf("rejoin-stack.sh changed a running lab's switches:\n%s\nwant\n%s", got, up)
	}

	// After domU rebooted (new domid, so a new placeholder port in dom0),
	// rejoin-stack.sh brings the lab back.
	_, err := l.c.Call(l.ctx, "VM.hard_reboot", l.vm)
	l.must(err)
	l.dialDomU()
	l.wantAgents(0, "after domU's reboot")
	tagPlaceholder() // the reboot's new port, as xenlab's placeholder step would tag it
	if res := l.stack("rejoin-stack.sh"); res.ExitStatus != 0 {
		t.Fatalf("rejoin-stack.sh after a reboot: exit %d\n%s%s", res.ExitStatus, res.Stdout, res.Stderr)
	}
	l.checkSwitches()
	l.wantAgents(2, "after rejoin-stack.sh")

	if res := l.stack("unstack.sh"); res.ExitStatus != 0 {
		t.Fatalf("unstack.sh: exit %d\n%s%s", res.ExitStatus, res.Stdout, res.Stderr)
	}
	// The placeholder's port is named after domU's domid and domU's switch
	// database is a new one: the reboot changed both.
	norm := func(s string) string {
		return sortPorts(dbUUID.ReplaceAllString(vifNames.ReplaceAllString(s, "vifN."), "<db uuid>"))
	}
	if got, want := norm(l.switches()), norm(before); got != want {
		t.Fatalf("after unstack.sh the switches differ from before stack.sh:\n%s\nwant\n%s", got, want)
	}
	if l.run(l.domu, "test -e "+devstack.Marker).ExitStatus == 0 {
		t.Error("the marker is still there after unstack.sh")
	}
	l.wantAgents(0, "after unstack.sh")

	l.checkNovaBoot()
}

// wantAgents checks how many agent processes (q-agt, q-domua) run in domU.
func (l *lab) wantAgents(n int, when string) {
	l.t.Helper()
	got := strings.TrimSpace(l.out(l.domu, "ps -eo args= | grep -c -e '^[^ ]*bash [^ ]*/[n]eutron-openvswitch-agent --config-file ' || true"))
	if got != strconv.Itoa(n) {
		l.t.Errorf("%s: %s agent processes in domU, want %d:\n%s", when, got, n, l.out(l.domu, "ps -eo pid,args"))
	}
}

// checkNovaBoot: nova-boot-standin leaves on the host what nova's XenAPI
// driver left: a running VM with other_config nova_uuid, its disk tagged
// for the instance, and a VIF on the integration network.
func (l *lab) checkNovaBoot() {
	t := l.t
	f := strings.Fields(l.out(l.domu, "nova-boot-standin test-instance"))
	if len(f) != 3 || f[0] != "instance-00000001" {
		t.Fatalf("nova-boot-standin printed %q", f)
	}
	vms, err := l.c.VMGetAllRecords(l.ctx)
	l.must(err)
	var found bool
	for ref, vm := range vms {
		if vm.UUID != f[1] {
			continue
		}
		found = true
		if vm.NameLabel != f[0] || vm.NameDescription != "test-instance" || vm.OtherConfig["nova_uuid"] != f[2] ||
			vm.PowerState != "Running" {
			t.Errorf("instance %s: name %q, description %q, nova_uuid %q, %s", ref, vm.NameLabel,
				vm.NameDescription, vm.OtherConfig["nova_uuid"], vm.PowerState)
		}
		if len(vm.VIFs) != 1 {
			t.Fatalf("instance has %d VIFs, want 1", len(vm.VIFs))
		}
		vif, err := l.c.VIFGetRecord(l.ctx, vm.VIFs[0])
		l.must(err)
		if vif.Network != l.intNet {
			t.Errorf("instance's VIF is on %s, want the integration network %s", vif.Network, l.intNet)
		}
		var disks int
		for _, vbd := range vm.VBDs {
			b, err := l.c.VBDGetRecord(l.ctx, vbd)
			l.must(err)
			if b.VDI == xapi.NullRef {
				continue
			}
			oc, err := l.c.Call(l.ctx, "VDI.get_other_config", b.VDI)
			l.must(err)
			m, _ := oc.(map[string]any)
			if m["nova_disk_type"] != "root" || m["nova_instance_uuid"] != f[2] {
				t.Errorf("instance disk %s other_config %v", b.VDI, m)
			}
			disks++
		}
		if disks == 0 {
			t.Error("the instance has no disk")
		}
	}
	if !found {
		t.Fatalf("no VM %s on the host", f[1])
	}
}

// sortPorts sorts the Port blocks of each bridge in `ovs-vsctl show`
// output: real Open vSwitch prints them in the order of their row UUIDs,
// which change when a port is added again under a new name.
func sortPorts(show string) string {
	lines := strings.Split(show, "\n")
	var out, block []string
	var blocks []string
	flush := func() {
		if block != nil {
			blocks = append(blocks, strings.Join(block, "\n"))
			block = nil
		}
		sort.Strings(blocks)
		out = append(out, blocks...)
		blocks = nil
	}
	for _, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case indent == 8 && strings.HasPrefix(strings.TrimSpace(l), "Port "):
			if block != nil {
				blocks = append(blocks, strings.Join(block, "\n"))
			}
			block = []string{l}
		case indent > 8 && block != nil:
			block = append(block, l)
		default:
			flush()
			out = append(out, l)
		}
	}
	flush()
	return strings.Join(out, "\n")
}

var (
	vifNames = regexp.MustCompile(`vif\d+\.`)
	dbUUID   = regexp.MustCompile(`(?m)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

var ofportRE = regexp.MustCompile(`(?m)^ (\d+)\((\S+)\):`)

// ofports maps port names to OpenFlow port numbers from ovs-ofctl show.
func ofports(show string) map[string]string {
	m := map[string]string{}
	for _, s := range ofportRE.FindAllStringSubmatch(show, -1) {
		m[s[2]] = s[1]
	}
	return m
}

func (l *lab) checkSwitches() {
	t := l.t
	// domU, as the walk-through shows it.
	show := l.out(l.domu, "ovs-ofctl show br-int")
	p := ofports(show)
	if p["int-br-eth1"] == "" {
		t.Fatalf("domU: ovs-ofctl show br-int has no int-br-eth1:\n%s", show)
	}
	flows := l.out(l.domu, "ovs-ofctl dump-flows br-int")
	want := "priority=3,in_port=" + p["int-br-eth1"] + ",dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"
	if !strings.Contains(flows, want) {
		t.Errorf("domU br-int flows lack %q:\n%s", want, flows)
	}
	phy := ofports(l.out(l.domu, "ovs-ofctl show br-eth1"))["phy-br-eth1"]
	flows = l.out(l.domu, "ovs-ofctl dump-flows br-eth1")
	if want := "priority=4,in_port=" + phy + ",dl_vlan=1 actions=mod_vlan_vid:1000,NORMAL"; phy == "" || !strings.Contains(flows, want) {
		t.Errorf("domU br-eth1 flows lack %q:\n%s", want, flows)
	}
	if got := l.out(l.domu, "ovs-vsctl list-ports br-eth1"); !strings.Contains(got, "eth1\n") && !strings.HasPrefix(got, "eth1") {
		t.Errorf("domU: eth1 is not on br-eth1: %q", got)
	}
	var dhcp, router int
	for _, port := range strings.Fields(l.out(l.domu, "ovs-vsctl list-ports br-int")) {
		switch {
		case strings.HasPrefix(port, "tap"):
			dhcp++
		case strings.HasPrefix(port, "qr-"):
			router++
		default:
			continue
		}
		if tag := l.out(l.domu, "ovs-vsctl get Port "+port+" tag"); tag != "1" {
			t.Errorf("domU: port %s has tag %q, want the local VLAN 1", port, tag)
		}
	}
	if dhcp != 1 || router != 1 {
		t.Errorf("domU br-int: %d DHCP (tap) and %d router (qr-) ports, want 1 each", dhcp, router)
	}

	// dom0: the link, the translation flows and the dead placeholder.
	p = ofports(l.out(l.dom0, "ovs-ofctl show "+l.intBr))
	intPort := "int-" + l.vmBr
	if p[intPort] == "" {
		t.Fatalf("dom0: %s has no %s", l.intBr, intPort)
	}
	if got := l.out(l.dom0, "ovs-vsctl get Interface "+intPort+" options:peer"); strings.Trim(got, `"`) != "phy-"+l.vmBr {
		t.Errorf("dom0: %s's peer is %s, want phy-%s", intPort, got, l.vmBr)
	}
	flows = l.out(l.dom0, "ovs-ofctl dump-flows "+l.intBr)
	if want := "priority=3,in_port=" + p[intPort] + ",dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"; !strings.Contains(flows, want) {
		t.Errorf("dom0 %s flows lack %q:\n%s", l.intBr, want, flows)
	}
	var dead int
	for port, of := range p {
		if !strings.HasPrefix(port, "vif") {
			continue
		}
		dead++
		if tag := l.out(l.dom0, "ovs-vsctl get Port "+port+" tag"); tag != "4095" {
			t.Errorf("dom0: VIF port %s has tag %q, want 4095", port, tag)
		}
		if want := "priority=2,in_port=" + of + " actions=drop"; !strings.Contains(flows, want) {
			t.Errorf("dom0 %s flows lack %q:\n%s", l.intBr, want, flows)
		}
	}
	if dead != 1 {
		t.Errorf("dom0: %d VIF ports on %s, want domU's placeholder", dead, l.intBr)
	}
	phy = ofports(l.out(l.dom0, "ovs-ofctl show "+l.vmBr))["phy-"+l.vmBr]
	flows = l.out(l.dom0, "ovs-ofctl dump-flows "+l.vmBr)
	if want := "priority=4,in_port=" + phy + ",dl_vlan=1 actions=mod_vlan_vid:1000,NORMAL"; phy == "" || !strings.Contains(flows, want) {
		t.Errorf("dom0 %s flows lack %q:\n%s", l.vmBr, want, flows)
	}
}

// TestGuestFiles: the guest gets the git wrapper and every file of the
// stand-in, its scripts with a #! line (so the skeleton makes them
// executable).
func TestGuestFiles(t *testing.T) {
	f := devstack.GuestFiles()
	for _, p := range []string{devstack.GitPath, "stack.sh", "unstack.sh", "rejoin-stack.sh", "lib/standin",
		"bin/neutron-rootwrap-xen-dom0", "bin/neutron-openvswitch-agent", "bin/nova-boot-standin", "README"} {
		if p != devstack.GitPath {
			p = filepath.Join(devstack.TreeDir, p)
		}
		c, ok := f[p]
		if !ok {
			t.Errorf("no %s", p)
			continue
		}
		if exe := !strings.HasSuffix(p, "README") && !strings.HasSuffix(p, "lib/standin"); exe != strings.HasPrefix(c, "#!") {
			t.Errorf("%s: starts with #! = %v, want %v", p, !exe, exe)
		}
	}
}
