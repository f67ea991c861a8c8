package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
)

// TestGuestSwitchDatabaseOutlivesReboot: what a guest put in its Open
// vSwitch database (bridges, their external_ids, ports with tags, patch
// and internal interfaces with options and external_ids) is there again
// after VM.clean_reboot, as Ubuntu keeps /etc/openvswitch/conf.db; its
// flows are not, and neither is a process it ran. With the model and,
// where it can run, real OVS.
func TestGuestSwitchDatabaseOutlivesReboot(t *testing.T) {
	forEachOVSMode(t, testGuestSwitchDatabaseOutlivesReboot)
}

func testGuestSwitchDatabaseOutlivesReboot(t *testing.T, mode ovs.Mode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: t.TempDir(), OVS: mode, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c := dialXAPI(ctx, t, h.Endpoints())
	defer c.Close(ctx)
	vm := newGuestVM(ctx, t, c, "reboots")
	hs, _ := c.HostGetAll(ctx)
	mgmt, _, err := c.ManagementNetwork(ctx, hs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGuestIP(ctx, vm, "0"); err != nil {
		t.Fatal(err)
	}
	uuid := vmUUID(ctx, t, c, vm)
	exec := func(line string) string {
		t.Helper()
		sw, ok := h.GuestSwitch(uuid)
		if !ok {
			t.Fatal("the guest has no switch")
		}
		res, err := sw.Exec(ctx, strings.Fields(line), nil)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%s: %v %s", line, err, res.Stderr)
		}
		return strings.TrimSpace(string(res.Stdout))
	}
	exec("ovs-vsctl add-br br-int -- br-set-external-id br-int bridge-id br-int -- add-br br-eth1 -- add-port br-eth1 eth0")
	exec("ovs-vsctl add-port br-int int-br-eth1 -- set Interface int-br-eth1 type=patch options:peer=phy-br-eth1 " +
		"-- add-port br-eth1 phy-br-eth1 -- set Interface phy-br-eth1 type=patch options:peer=int-br-eth1")
	exec("ovs-vsctl add-port br-int tapabc -- set Interface tapabc type=internal external_ids:iface-id=abc -- set Port tapabc tag=1")
	exec("ovs-ofctl add-flow br-int priority=3,in_port=int-br-eth1,dl_vlan=1000,actions=mod_vlan_vid:1,NORMAL")
	read := func() string {
		return strings.Join([]string{
			exec("ovs-vsctl list-br"), exec("ovs-vsctl list-ports br-int"), exec("ovs-vsctl list-ports br-eth1"),
			exec("ovs-vsctl br-get-external-id br-int bridge-id"), exec("ovs-vsctl get Port tapabc tag"),
			exec("ovs-vsctl get Interface int-br-eth1 type options"), exec("ovs-vsctl get Interface tapabc type external_ids"),
		}, "\n")
	}
	before := read()

	if _, err := c.Call(ctx, "VM.clean_reboot", string(vm)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGuestIP(ctx, vm, "0"); err != nil {
		t.Fatal(err)
	}
	if after := read(); after != before {
		t.Errorf("the switch database after the reboot:\n%s\nwant\n%s", after, before)
	}
	if flows := exec("ovs-ofctl dump-flows --no-stats br-int"); strings.Contains(flows, "dl_vlan=1000") {
		t.Errorf("a flow outlived the reboot:\n%s", flows)
	}
}
