package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/scripts"
	"xenlab/steps"
)

// driftLab is what a drift acts on: the simulated host, the lab and a
// connection of the test's own to the host.
type driftLab struct {
	t    *testing.T
	ctx  context.Context
	sh   *sim.Host
	cfg  *localrc.Config
	host *hosts.Host
}

func (d *driftLab) xapi() *xapi.Client {
	c, err := d.host.XAPI(d.ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d *driftLab) inv() *hosts.Snapshot {
	d.host.Changed()
	inv, err := d.host.Inventory(d.ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	return inv
}

// domU is the lab's domU and its record.
func (d *driftLab) domU() (xapi.Ref, xapi.VMRecord) {
	inv := d.inv()
	for r, vm := range inv.VMs {
		if steps.Owned(d.cfg.Lab, vm.OtherConfig) && vm.OtherConfig[steps.TagRole] == steps.RoleDomU && !vm.IsASnapshot && !vm.IsATemplate {
			return r, vm
		}
	}
	d.t.Fatal("no domU")
	return "", xapi.VMRecord{}
}

// placeholder is domU's placeholder VIF.
func (d *driftLab) placeholder() (xapi.Ref, xapi.VIFRecord) {
	inv := d.inv()
	_, vm := d.domU()
	for _, r := range vm.VIFs {
		if v := inv.VIFs[r]; steps.Owned(d.cfg.Lab, v.OtherConfig) && v.OtherConfig[steps.TagRole] == steps.RolePlaceholderVIF {
			return r, v
		}
	}
	d.t.Fatal("no placeholder VIF")
	return "", xapi.VIFRecord{}
}

// bridge is dom0's bridge of the lab's network named name.
func (d *driftLab) bridge(name string) string {
	for _, n := range d.inv().Networks {
		if n.NameLabel == name && steps.Owned(d.cfg.Lab, n.OtherConfig) {
			return n.Bridge
		}
	}
	d.t.Fatalf("no network %q", name)
	return ""
}

// dom0 runs cmd in dom0.
func (d *driftLab) dom0(cmd string) {
	c, err := d.host.Dom0(d.ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	if res, err := c.Run(d.ctx, cmd); err != nil {
		d.t.Fatalf("dom0: %s: %v %s", cmd, err, res.Stderr)
	}
}

// domUSh runs cmd in domU as root.
func (d *driftLab) domUSh(cmd string) {
	addr := steps.DomUAddress(d.inv(), d.cfg)
	g, err := d.host.DialGuest(d.ctx, "domU", addr, "root", d.cfg.DomU.Password)
	if err != nil {
		d.t.Fatal(err)
	}
	defer g.Close()
	if res, err := g.Run(d.ctx, cmd); err != nil {
		d.t.Fatalf("domU: %s: %v %s", cmd, err, res.Stderr)
	}
}

// waitUp waits until domU's guest reports its address again.
func (d *driftLab) waitUp(vm xapi.Ref) {
	if _, err := d.xapi().WaitGuestIP(d.ctx, vm, "0"); err != nil {
		d.t.Fatal(err)
	}
}

func (d *driftLab) call(method string, args ...any) {
	if _, err := d.xapi().Call(d.ctx, method, args...); err != nil {
		d.t.Fatalf("%s: %v", method, err)
	}
}

// driftsNamedAndRepaired makes each drift happen in turn on a lab that is
// up: `xenlab verify` exits 1 naming it, `xenlab up` on the same lab file
// exits 0 with verify passing, and a plan after it has nothing to do. One
// lab for all the drifts, repaired in between, keeps them to the one cold
// up TestUpOnSimulatedHost makes, whose lab they act on (between its reset
// and its down). simOpts are the options the simulated host was started
// with: the last drift restarts it with them, as `sim serve --dir` after a
// host reboot; d.sh is the restarted host afterwards.
func driftsNamedAndRepaired(t *testing.T, ctx context.Context, d *driftLab, simOpts sim.Options, labFile string) {
	cfg := d.cfg
	var err error
	intBr, vmBr := d.bridge(cfg.Networks.Integration), d.bridge(cfg.Networks.VM)
	otherNetwrap := strings.Replace(string(scripts.Netwrap), "\n", "\n# another version of xenlab's netwrap\n", 1)

	for _, tc := range []struct {
		name  string
		drift func()
		named []string // in verify's output, each
		said  string   // in up's output
	}{
		{"domU rebooted", func() {
			vm, _ := d.domU()
			d.call("VM.clean_reboot", string(vm))
			d.waitUp(vm)
		}, []string{"domU agents: expected q-agt and q-domua running", "found q-agt and q-domua not running"}, "domU rebooted since the agents started"},
		{"domU shut down", func() {
			vm, _ := d.domU()
			d.call("VM.clean_shutdown", string(vm))
		}, []string{"expected running with an address, found power state Halted"}, "started"},
		{"domU's agents killed", func() {
			d.domUSh("pkill -f '[n]eutron-openvswitch-agent'; true")
		}, []string{"domU agents: expected q-agt and q-domua running", "found q-agt and q-domua not running"}, "q-agt and q-domua not running in domU"},
		{"dom0's flows deleted", func() {
			d.dom0("ovs-ofctl del-flows " + vmBr + " && ovs-ofctl del-flows " + intBr)
		}, []string{"dom0 switch, bridge " + intBr + ": expected a flow in_port=int-" + vmBr}, "the agents redo their work only when they start"},
		{"domU's flows deleted on br-int", func() {
			d.domUSh("ovs-ofctl del-flows br-int")
		}, []string{"domU switch, bridge br-int: expected a flow in_port=int-br-eth1,dl_vlan=1000"}, "the agents redo their work only when they start"},
		{"placeholder moved off 4095", func() {
			_, v := d.placeholder()
			d.dom0("ovs-vsctl set Port $(ovs-vsctl --bare --columns=name find Interface external_ids:xs-vif-uuid=" + v.UUID + ") tag=7")
		}, []string{"dom0 switch, bridge " + intBr + ": expected the placeholder VIF's port on VLAN 4095", "with tag 7"}, "was on VLAN 7"},
		{"placeholder VIF unplugged", func() {
			r, _ := d.placeholder()
			d.call("VIF.unplug", string(r))
		}, []string{"dom0 switch, bridge " + intBr + ": expected the placeholder VIF's port on VLAN 4095, found no port of VIF"}, "was unplugged: plugged it again"},
		{"netwrap deleted", func() {
			d.dom0("rm " + steps.PluginDir + "/netwrap")
		}, []string{"dom0, " + steps.PluginDir + "/netwrap: expected xenlab's netwrap", "found no such file"}, "installed " + steps.PluginDir + "/netwrap"},
		{"netwrap replaced by another version", func() {
			c, err := d.host.Dom0(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.UploadBytes(ctx, []byte(otherNetwrap), steps.PluginDir+"/netwrap", 0o755); err != nil {
				t.Fatal(err)
			}
		}, []string{"dom0, " + steps.PluginDir + "/netwrap: expected xenlab's netwrap", "found another version of xenlab's"}, "updated " + steps.PluginDir + "/netwrap"},
		{"host rebooted", func() {
			hostRef, _, _ := hosts.Only(d.inv().Hosts)
			d.call("host.disable", string(hostRef))
			d.call("host.reboot", string(hostRef))
		}, []string{"expected running with an address, found power state Halted"}, "rejoin-stack.sh"},
		{"host rebooted by a restart of sim serve --dir", func() {
			d.host.Close(ctx)
			if err := d.sh.Close(); err != nil {
				t.Fatal(err)
			}
			if d.sh, err = sim.Start(ctx, simOpts); err != nil {
				t.Fatal(err)
			}
			d.host = hosts.New(cfg.Hosts[0], hosts.Options{})
		}, []string{"expected running with an address, found power state Halted"}, "rejoin-stack.sh"},
	} {
		start := time.Now()
		tc.drift()
		code, stdout, stderr := run(t, "", false, "verify", "-f", labFile)
		out := stdout + stderr
		if code != ExitFailed {
			t.Fatalf("%s: verify exit %d, want %d\n%s", tc.name, code, ExitFailed, out)
		}
		for _, want := range tc.named {
			if !strings.Contains(out, want) {
				t.Errorf("%s: verify does not name it (%q):\n%s", tc.name, want, out)
			}
		}
		code, stdout, stderr = run(t, "", false, "up", "-f", labFile)
		if code != ExitOK {
			t.Fatalf("%s: up exit %d\n%s%s", tc.name, code, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, tc.said) {
			t.Errorf("%s: up does not say %q:\n%s%s", tc.name, tc.said, stdout, stderr)
		}
		if code, stdout, stderr := run(t, "", false, "verify", "-f", labFile); code != ExitOK {
			t.Fatalf("%s: verify after up: exit %d\n%s%s", tc.name, code, stdout, stderr)
		}
		if code, stdout, stderr := run(t, "", false, "plan", "-f", labFile, "--detailed-exitcode"); code != ExitOK {
			t.Errorf("%s: plan after up: exit %d, want %d (nothing to do)\n%s%s", tc.name, code, ExitOK, stdout, stderr)
		}
		t.Logf("%s: named by verify, repaired by up (%v)", tc.name, time.Since(start).Round(time.Millisecond))
	}
}
