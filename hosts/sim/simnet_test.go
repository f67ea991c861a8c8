package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts/sim/hostnet"
	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// needOwnNetwork skips a test that needs a simulated host with a network
// of its own: root, real Open vSwitch.
func needOwnNetwork(t *testing.T) {
	t.Helper()
	if err := hostnet.Available(); err != nil {
		t.Skipf("no network of the host's own here: %v", err)
	}
	if err := ovs.RealAvailable(); err != nil {
		t.Skipf("no network of the host's own here: %v", err)
	}
}

// startOwnNetworkHost starts a simulated host with the real switch (with
// needOwnNetwork, a network of its own) in a directory of the test, closed
// when the test ends, and loads the lab file it wrote. logf receives the
// host's log (nil: t.Logf).
func startOwnNetworkHost(ctx context.Context, t *testing.T, logf func(string, ...any)) (*Host, *localrc.Config) {
	t.Helper()
	if logf == nil {
		logf = t.Logf
	}
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeReal, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	cfg, err := localrc.Load(filepath.Join(dir, "lab.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return h, cfg
}

// managementNetwork is the network of the host's management interface.
func managementNetwork(ctx context.Context, t *testing.T, c *xapi.Client) xapi.Ref {
	t.Helper()
	host, err := c.HostGetAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := c.ManagementNetwork(ctx, host[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostNetwork: as root, a simulated host is reached over a wire of
// its own as a real one is. One host, one domU with devstack's four VIFs:
// the lab file names the management address (198.18.0.0/15), xenlab's
// client logs in there; dom0's ip link has xenbr0, eth0 and the VIFs'
// vif<domid>.<device>, with the management address on xenbr0 and none of
// this machine's; domU's has eth0-eth3 with the VIFs' MACs (what its
// /sys/class/net says too); domU reaches dom0's xapi over xenbr0; frames
// tagged 1000 sent out of dom0's VM-network bridge arrive on domU's eth1;
// and Close leaves no device on this machine.
func TestHostNetwork(t *testing.T) {
	needOwnNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Commands the simulator carries out itself (sshd.Builtin), as its
	// SSH servers log them.
	var carried atomic.Int64
	h, cfg := startOwnNetworkHost(ctx, t, func(format string, args ...any) {
		if strings.Contains(fmt.Sprintf(format, args...), "(carried out by the simulator)") {
			carried.Add(1)
		}
		t.Logf(format, args...)
	})
	ep := h.Endpoints()
	lan, err := netip.ParsePrefix(ep.LAN)
	if ep.Network != "own" || err != nil || !hostnet.Range.Contains(lan.Addr()) || lan.Bits() != 24 {
		t.Fatalf("network %q, LAN %q (%v): want own, a /24 of %s", ep.Network, ep.LAN, err, hostnet.Range)
	}
	mgmt := h.hnet.Addr(1).String()
	hc := cfg.Hosts[0]
	if hc.XAPIURL != "https://"+mgmt+"/" || hc.SSHAddr() != mgmt+":22" {
		t.Fatalf("the lab file names xapi %s and dom0 %s, want the management address %s", hc.XAPIURL, hc.SSHAddr(), mgmt)
	}
	c, err := xapi.Dial(ctx, xapi.Options{URL: hc.XAPIURL, User: hc.XAPIUser, Password: hc.XAPIPassword, Fingerprint: hc.XAPIFingerprint})
	if err != nil {
		t.Fatalf("xenlab's client through the host's own address: %v", err)
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
			t.Fatalf("%s: %s: %v: %s", cl.Host(), cmd, err, res.Stderr)
		}
		return string(res.Stdout)
	}

	// domU with the management network and three of its own, as the lab.
	vm := newGuestVM(ctx, t, c, "DevStackOSDomU")
	mgmtNet := managementNetwork(ctx, t, c)
	nets := []xapi.Ref{mgmtNet}
	for _, name := range []string{"OpenStack VM Network", "OpenStack Public Network", "OpenStack VM Integration Network"} {
		n, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: name})
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	macs := map[string]string{}
	for dev, n := range nets {
		v, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: n, Device: strconv.Itoa(dev)})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := c.VIFGetRecord(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		macs["eth"+strconv.Itoa(dev)] = strings.ToLower(rec.MAC)
	}
	vmBridge, err := c.NetworkGetBridge(ctx, nets[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := netip.ParseAddr(ip); err != nil || !lan.Contains(a) {
		t.Fatalf("domU reports %s, not an address of the host's network %s", ip, lan)
	}
	domid, err := c.VMGetDomid(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}

	// dom0's own devices.
	links := linkNames(run(dom0, "ip -o link"))
	for _, want := range []string{"lo", "eth0", "xenbr0", fmt.Sprintf("vif%d.0", domid), fmt.Sprintf("vif%d.1", domid),
		fmt.Sprintf("vif%d.2", domid), fmt.Sprintf("vif%d.3", domid)} {
		if !links[want] {
			t.Errorf("dom0's ip -o link lacks %s: %v", want, links)
		}
	}
	if links[ep.Uplink] {
		t.Errorf("dom0 sees this machine's uplink %s", ep.Uplink)
	}
	// netback's end of a VIF, as xen-api's scripts/vif leaves it: up, no
	// ARP, no multicast, fe:ff:ff:ff:ff:ff.
	vif1 := fmt.Sprintf("vif%d.1", domid)
	if got := run(dom0, "ip -o link show dev "+vif1); !strings.Contains(got, "<BROADCAST,NOARP,") || strings.Contains(got, "MULTICAST") ||
		!strings.Contains(got, ",UP,") || !strings.Contains(got, " link/ether "+hostnet.VIFMAC+" ") {
		t.Errorf("dom0's %s is not as netback's device: %s", vif1, got)
	}
	// dom0 runs the real ovs-ofctl from its PATH with no option, and it
	// reaches dom0's switch (its run directory is where the tool looks),
	// not this machine's; alone on a command line the simulator carries
	// it out.
	if got := run(dom0, "command -v ovs-ofctl; ovs-ofctl show xenbr0 | grep -c '(eth0)'"); got != "/usr/bin/ovs-ofctl\n1\n" {
		t.Errorf("dom0's ovs-ofctl: %q, want /usr/bin/ovs-ofctl showing xenbr0 with eth0", got)
	}
	carriedBefore := carried.Load()
	if got := run(dom0, "ovs-ofctl show xenbr0"); !strings.Contains(got, "(eth0)") {
		t.Errorf("ovs-ofctl show xenbr0 alone: %q", got)
	}
	if carried.Load() == carriedBefore {
		t.Error("ovs-ofctl show xenbr0 alone was not carried out by the simulator")
	}
	if got := run(dom0, "ip -o -4 addr show dev xenbr0"); !strings.Contains(got, " "+mgmt+"/24 ") {
		t.Errorf("xenbr0 in dom0 does not carry %s/24: %q", mgmt, got)
	}
	for _, a := range addrs(run(dom0, "ip -o -4 addr")) {
		if p, _ := netip.ParseAddr(a); !lan.Contains(p) && !p.IsLoopback() {
			t.Errorf("dom0 has an address of another network: %s", a)
		}
	}
	if got := run(dom0, "ip -o -6 addr"); strings.TrimSpace(got) != "" {
		t.Errorf("dom0's devices have IPv6 addresses (their ports would send neighbour discovery): %q", got)
	}
	if got := run(dom0, "ovs-vsctl list-ports xenbr0"); !strings.Contains(got, "eth0") {
		t.Errorf("eth0 is not a port of xenbr0: %q", got)
	}

	// domU's own devices, each VIF's MAC.
	domu, err := sshc.Dial(ctx, sshc.Config{Host: "domU", Addr: ip + ":" + strconv.Itoa(cfg.DomU.SSHPort),
		User: "root", KeyFiles: []string{hc.SSHKey}, KnownHosts: []string{hc.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer domu.Close()
	out := run(domu, "ip -o link")
	links = linkNames(out)
	for _, l := range []string{"eth0", "eth1", "eth2", "eth3"} {
		if !links[l] {
			t.Errorf("domU's ip -o link lacks %s:\n%s", l, out)
			continue
		}
		if got := run(domu, "ip -o link show dev "+l); !strings.Contains(got, "link/ether "+macs[l]+" ") {
			t.Errorf("domU's %s: %q, want MAC %s", l, got, macs[l])
		}
		if got := strings.TrimSpace(run(domu, "cat /sys/class/net/"+l+"/address")); got != macs[l] {
			t.Errorf("domU's /sys/class/net/%s/address %q, want %s", l, got, macs[l])
		}
	}
	if links["xenbr0"] || links[ep.Uplink] {
		t.Errorf("domU sees devices not its own: %v", links)
	}

	// domU reaches dom0's xapi over eth0 and xenbr0 (plain HTTP, as
	// rootwrap-xen-dom0 does), and is answered as xapi answers.
	py := `import xmlrpc.client as x; print(x.ServerProxy("http://` + mgmt + `/").session.login_with_password("root", "not-the-password")["ErrorDescription"][0])`
	if got := strings.TrimSpace(run(domu, "python3 -c '"+py+"'")); got != "SESSION_AUTHENTICATION_FAILED" {
		t.Errorf("domU's call to dom0's xapi: %q", got)
	}

	// Frames tagged 1000 out of dom0's VM-network bridge arrive on domU's
	// eth1, the other end of the VIF's link.
	rx := func() uint64 {
		var st []struct {
			Stats64 struct{ RX struct{ Packets uint64 } } `json:"stats64"`
		}
		if err := json.Unmarshal([]byte(run(domu, "ip -s -j link show dev eth1")), &st); err != nil || len(st) != 1 {
			t.Fatalf("domU's eth1 counters: %v", err)
		}
		return st[0].Stats64.RX.Packets
	}
	before := rx()
	frame := strings.Repeat("ff", 6) + "fa163e000002" + "810003e8" + "88b5" + strings.Repeat("00", 46)
	run(dom0, "ovs-ofctl packet-out "+vmBridge+" LOCAL NORMAL"+strings.Repeat(" "+frame, 8))
	got := uint64(0)
	for i := 0; i < 20 && got < 8; i++ { // a link and a kernel: bounded reads
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		got = rx() - before
	}
	if got < 8 {
		t.Errorf("8 frames tagged 1000 sent out of dom0's %s: %d arrived on domU's eth1", vmBridge, got)
	}

	uplink := ep.Uplink
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/class/net/" + uplink); err == nil {
		t.Errorf("%s is left on this machine after Close", uplink)
	}
}

// linkNames reads the names in `ip -o link` ("3: vif1.0@if2: <...>").
func linkNames(out string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			m[name] = true
		}
	}
	return m
}

// addrs reads the addresses in `ip -o -4 addr`.
func addrs(out string) []string {
	var a []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				p, _, _ := strings.Cut(f[i+1], "/")
				a = append(a, p)
			}
		}
	}
	return a
}

// TestHostNetworkGoesWithTheSimulator: the host's namespaces are held by
// the simulator alone, so a simulator killed with SIGKILL leaves no device
// on this machine (the kernel removes its namespaces, their veth pairs
// with them); and a start removes an uplink of its own id that an earlier
// run left, never another's.
func TestHostNetworkGoesWithTheSimulator(t *testing.T) {
	needOwnNetwork(t)
	if dir := os.Getenv("XENLAB_TEST_SIMNET_CHILD"); dir != "" {
		simnetChild(dir)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHostNetworkGoesWithTheSimulator$")
	cmd.Env = append(os.Environ(), "XENLAB_TEST_SIMNET_CHILD="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	uplink, ok := strings.CutPrefix(strings.TrimSpace(line), "uplink ")
	if err != nil || !ok {
		t.Fatalf("the child simulator said %q (%v)", line, err)
	}
	if _, err := os.Stat("/sys/class/net/" + uplink); err != nil {
		t.Fatalf("the child's uplink %s: %v", uplink, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	gone := false
	for i := 0; i < 100 && !gone; i++ { // the kernel ends namespaces in the background: bounded
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		_, err := os.Stat("/sys/class/net/" + uplink)
		gone = os.IsNotExist(err)
	}
	if !gone {
		t.Fatalf("%s is left on this machine 5 s after its simulator was killed", uplink)
	}

	// A stale uplink of this host (a veth under its name) goes at start;
	// another host's stays.
	st, err := loadState(dir)
	if err != nil || st.NetID == "" {
		t.Fatalf("sim.json: %+v %v", st, err)
	}
	other := hostnet.Uplink("0f0f0f")
	if st.NetID == "0f0f0f" {
		other = hostnet.Uplink("f0f0f0")
	}
	for _, name := range []string{hostnet.Uplink(st.NetID), other} {
		if out, err := exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p").CombinedOutput(); err != nil {
			t.Fatalf("ip link add %s: %v: %s", name, err, out)
		}
	}
	defer exec.Command("ip", "link", "del", other).Run()
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, "sim.json"), []byte(`{"net":[20,20],"netid":"`+st.NetID+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := Start(ctx, Options{Dir: dir2, OVS: ovs.ModeReal, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if out, err := exec.Command("ip", "-d", "-o", "link", "show", "dev", hostnet.Uplink(st.NetID)).CombinedOutput(); err != nil || !strings.Contains(string(out), "veth") {
		t.Errorf("%s after start: %s %v, want the new veth", hostnet.Uplink(st.NetID), out, err)
	}
	if _, err := os.Stat("/sys/class/net/" + other); err != nil {
		t.Errorf("another host's %s was removed: %v", other, err)
	}
}

// simnetChild runs a simulated host in dir for
// TestHostNetworkGoesWithTheSimulator, says its uplink, and waits to be
// killed.
func simnetChild(dir string) {
	h, err := Start(context.Background(), Options{Dir: dir, OVS: ovs.ModeReal, Logf: func(string, ...any) {}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("uplink", h.Endpoints().Uplink)
	select {}
}

// TestANewGuestAnnouncesItsAddress: a VM started with the address of one
// that is gone, on a VIF of a new MAC, is reached at once. This machine's
// neighbour entry for the address, left by the first guest, would send to
// the old MAC until it expired (35 to 50 s measured: a down and up of the
// lab on a kept simulated host waited that long for domU's SSH); a real
// guest's first frames (and netfront's gratuitous ARP when its backend
// connects, after a resume) tell the segment its MAC, and the simulated
// guest, which sends nothing of its own, announces each address it is
// given.
func TestANewGuestAnnouncesItsAddress(t *testing.T) {
	needOwnNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, cfg := startOwnNetworkHost(ctx, t, nil)
	hc := cfg.Hosts[0]
	c, err := xapi.Dial(ctx, xapi.Options{URL: hc.XAPIURL, User: hc.XAPIUser, Password: hc.XAPIPassword, Fingerprint: hc.XAPIFingerprint})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	mgmtNet := managementNetwork(ctx, t, c)
	boot := func(name string) (vm xapi.Ref, ip, mac string) {
		vm = newGuestVM(ctx, t, c, name)
		v, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmtNet, Device: "0"})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := c.VIFGetRecord(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.VMStart(ctx, vm, false, false); err != nil {
			t.Fatal(err)
		}
		if ip, err = c.WaitGuestIP(ctx, vm, "0"); err != nil {
			t.Fatal(err)
		}
		return vm, ip, strings.ToLower(rec.MAC)
	}
	sshPort := strconv.Itoa(cfg.DomU.SSHPort)
	uplink := h.Endpoints().Uplink

	first, ip, mac1 := boot("first")
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, sshPort), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := neighbourMAC(t, uplink, ip); got != mac1 {
		t.Fatalf("this machine's neighbour entry for %s is %q, want the first guest's %s", ip, got, mac1)
	}
	if err := c.VMHardShutdown(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := c.VMDestroy(ctx, first); err != nil {
		t.Fatal(err)
	}

	_, ip2, mac2 := boot("second")
	if ip2 != ip || mac2 == mac1 {
		t.Fatalf("the second guest has %s with MAC %s: the test needs the first's address (%s) on another MAC (%s)", ip2, mac2, ip, mac1)
	}
	if got := neighbourMAC(t, uplink, ip); got != mac2 {
		t.Fatalf("after the second guest booted, this machine's neighbour entry for %s is %q, want the second guest's %s", ip, got, mac2)
	}
	conn, err = net.DialTimeout("tcp", net.JoinHostPort(ip, sshPort), 5*time.Second)
	if err != nil {
		t.Fatalf("the second guest's SSH port: %v", err)
	}
	conn.Close()
}

// neighbourMAC is the hardware address this machine's ARP table holds for
// ip on dev ("" for none), from /proc/net/arp.
func neighbourMAC(t *testing.T, dev, ip string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/net/arp")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && f[0] == ip && f[5] == dev {
			return f[3]
		}
	}
	return ""
}
