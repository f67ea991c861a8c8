package steps

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/templates"
)

// simAddr is an address of the simulated host's own loopback network
// (127.A.B.0/24, where its guests get their leases), n above dom0's.
func simAddr(t *testing.T, sh *sim.Host, n byte) netip.Prefix {
	t.Helper()
	h, _, err := net.SplitHostPort(sh.Endpoints().Dom0SSH)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr(h).As4()
	a[3] = n
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// TestStaticAddressesReachDomU: a static management_ip reaches domU's
// /etc/network/interfaces (as devstack's build_xva.sh put it there), domU
// comes up at that address (its guest reports it, its SSH server answers
// there), the VM and public networks' static addresses are reported too,
// and a second plan has nothing to do. The file reaches domU before its
// first boot (xenstore, netjob.go): a cold up starts domU once and
// guest-network finds its work done. Then vm_ip is edited: plan shows it
// as a reboot of domU, up makes it.
func TestStaticAddressesReachDomU(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mgmt := simAddr(t, sh, 200)
	cfg.DomU.ManagementIP = localrc.IPConfig{Prefix: mgmt}
	before := sh.Counters().GuestStarts
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	if n := sh.Counters().GuestStarts - before; n != 1 {
		t.Errorf("a cold up started guests %d times, want domU once", n)
	}
	for _, s := range rep.Steps {
		if s.Name == "guest-network" && s.State != provision.StateAlreadyDone {
			t.Errorf("guest-network after domU's first boot: %s, want already done\n%s", s.State, output(rep))
		}
	}
	if want := "domU: gave domU its " + InterfacesPath + " in xenstore " + XenstoreInterfaces; !strings.Contains(output(rep), want) {
		t.Errorf("up's output lacks %q:\n%s", want, output(rep))
	}
	if strings.Contains(output(rep), "rebooting domU") {
		t.Errorf("a cold up rebooted domU:\n%s", output(rep))
	}
	host.Changed()
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ip := guestIP(inv, findDomU(inv, cfg.Lab), 0); ip != mgmt.Addr().String() {
		t.Errorf("domU reports %q on eth0, want %s", ip, mgmt.Addr())
	}
	g, err := host.DialGuest(ctx, "domU", net.JoinHostPort(mgmt.Addr().String(), strconv.Itoa(cfg.DomU.SSHPort)), "root", cfg.DomU.Password)
	if err != nil {
		t.Fatalf("domU's SSH server at its static address: %v", err)
	}
	file, err := g.Download(ctx, InterfacesPath)
	g.Close()
	if err != nil || !strings.Contains(string(file), "iface eth0 inet static\n  address "+mgmt.Addr().String()+"\n  netmask 255.255.255.0") {
		t.Errorf("domU's %s: %v\n%s", InterfacesPath, err, file)
	}

	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	if p := planOf(t, ctx, beforeAgents(cfg, fresh)); len(p.Pending()) > 0 || len(changesOf(p)) > 0 {
		t.Errorf("a second plan: pending %v, changes %v", p.Pending(), changesOf(p))
	}

	edited := *cfg
	edited.DomU.VMIP = localrc.IPConfig{Prefix: netip.MustParsePrefix("10.9.9.9/16")}
	p := planOf(t, ctx, beforeAgents(&edited, fresh))
	hasAll(t, "the plan's changes", changesOf(p), "guest-network: domu.vm_ip (domU stopped)")
	rep = run(t, ctx, beforeAgents(&edited, fresh), false)
	if rep.Err != nil {
		t.Fatalf("up after the edit: %v\n%s", rep.Err, output(rep))
	}
	want := "guest-network: guest reports eth2 172.24.4.10, eth1 10.9.9.9, eth0 " + mgmt.Addr().String()
	if !strings.Contains(output(rep), want) {
		t.Errorf("the edit's output lacks %q:\n%s", want, output(rep))
	}
	hasAll(t, "the edit's output", strings.Split(output(rep), "\n"),
		"guest-network: gave domU its "+InterfacesPath+" in xenstore "+XenstoreInterfaces, "guest-network: rebooting domU")
	fresh.Changed()
	if inv, err = fresh.Inventory(ctx); err != nil {
		t.Fatal(err)
	}
	if ip := guestIP(inv, findDomU(inv, cfg.Lab), 1); ip != "10.9.9.9" {
		t.Errorf("domU reports %q on eth1, want 10.9.9.9", ip)
	}
	last := hosts.New(host.Config, hosts.Options{})
	defer last.Close(ctx)
	if p := planOf(t, ctx, beforeAgents(&edited, last)); len(p.Pending()) > 0 {
		t.Errorf("a plan after the edit: pending %v, changes %v", p.Pending(), changesOf(p))
	}
}

// TestBootIsBoundByTimeoutsBoot: a guest that reports no address before
// timeouts.boot fails the boot step, naming the setting.
func TestBootIsBoundByTimeoutsBoot(t *testing.T) {
	t.Parallel() // a simulated host of its own
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), Logf: t.Logf, GuestMetricsDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	cfg, err := localrc.Load(sh.Endpoints().LabFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeouts.Boot = time.Millisecond
	host := hosts.New(cfg.Hosts[0], hosts.Options{})
	defer host.Close(ctx)
	var upToBoot []provision.Node
	for _, s := range BringUp(cfg, host) {
		upToBoot = append(upToBoot, s)
		if s.Step.Name() == "boot" {
			break
		}
	}
	rep := run(t, ctx, upToBoot, false)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "domU reported no address on eth0 within timeouts.boot (1ms)") {
		t.Fatalf("boot with a guest that never reports: %v", rep.Err)
	}
}

// TestInstallerAddressReachesDomUsFirstBoot: a static domu.ubuntu.ip is
// the installer's address (netcfg on its kernel command line, as
// devstack's install_ubuntu_template.sh passed UBUNTU_INST_IP), which the
// installer writes into the installed system. The template xenlab builds
// with its preseed has the interfaces job (and is marked so): domU, cloned
// from it, first boots with the lab file's addresses (management by DHCP,
// not the installer's address), and guest-network finds nothing to do.
func TestInstallerAddressReachesDomUsFirstBoot(t *testing.T) {
	sh, cfg, host := simLabInstall(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inst := simAddr(t, sh, 150)
	cfg.DomU.TemplateFrom = localrc.TemplateInstall
	cfg.DomU.Ubuntu.IP = localrc.IPConfig{Prefix: inst}
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	out := output(rep)
	if want := "domU: gave domU its " + InterfacesPath + " in xenstore " + XenstoreInterfaces; !strings.Contains(out, want) {
		t.Errorf("up's output lacks %q:\n%s", want, out)
	}
	for _, not := range []string{"boot: guest reports " + inst.Addr().String(), "guest-network: wrote", "rebooting domU"} {
		if strings.Contains(out, not) {
			t.Errorf("up's output has %q:\n%s", not, out)
		}
	}
	host.Changed()
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ip := guestIP(inv, findDomU(inv, cfg.Lab), 0); ip == "" || ip == inst.Addr().String() {
		t.Errorf("domU reports %q on eth0, want a DHCP lease", ip)
	}
	if ip := guestIP(inv, findDomU(inv, cfg.Lab), 1); ip != "10.255.255.255" {
		t.Errorf("domU reports %q on eth1, want vm_ip 10.255.255.255", ip)
	}
	tpl, err := findTemplate(inv, cfg)
	if err != nil || inv.VMs[tpl].OtherConfig[templates.InterfacesJobKey] != XenstoreInterfaces {
		t.Errorf("the built template's other_config %v (%v): no %s mark", inv.VMs[tpl].OtherConfig, err, templates.InterfacesJobKey)
	}
}

// TestDomUWithoutTheInterfacesJobIsRebooted: a template without the
// interfaces job's mark (one made before it, or one of yours without it)
// gets nothing in xenstore; guest-network writes the file over SSH and
// reboots domU, which comes up with the lab's addresses, as before.
func TestDomUWithoutTheInterfacesJobIsRebooted(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tpl := findTemplateByName(t, ctx, c, cfg.DomU.Template)
	if err := c.VMRemoveFromOtherConfig(ctx, tpl, templates.InterfacesJobKey); err != nil {
		t.Fatal(err)
	}
	host.Changed()
	before := sh.Counters().GuestStarts
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	if n := sh.Counters().GuestStarts - before; n != 2 {
		t.Errorf("guests started %d times, want domU's boot and its reboot", n)
	}
	out := output(rep)
	hasAll(t, "up's output", strings.Split(out, "\n"), "guest-network: rebooting domU",
		"guest-network: guest reports eth2 172.24.4.10, eth1 10.255.255.255")
	if strings.Contains(out, "in xenstore "+XenstoreInterfaces) {
		t.Errorf("a domU without the job was given the file in xenstore:\n%s", out)
	}
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	if p := planOf(t, ctx, beforeAgents(cfg, fresh)); len(p.Pending()) > 0 || len(changesOf(p)) > 0 {
		t.Errorf("a second plan: pending %v, changes %v", p.Pending(), changesOf(p))
	}
}
