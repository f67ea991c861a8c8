package sim

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
)

// dialDom0 opens xenlab's SSH client to dom0 as root.
func dialDom0(ctx context.Context, t *testing.T, ep Endpoints) *sshc.Client {
	t.Helper()
	c, err := sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: ep.Dom0SSH, User: "root",
		KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func runIn(ctx context.Context, t *testing.T, c *sshc.Client, cmd string, opts ...sshc.RunOption) string {
	t.Helper()
	res, err := c.Run(ctx, cmd, opts...)
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", cmd, err, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

// TestXeInDom0 runs dom0's xe over SSH as an administrator does: the
// walk-through's `xe network-list`, the lookup of the VM network by name
// that devstack and the done-when use, the command lines of
// devstack's Havana tools/xen/functions helpers under bash
// (testdata/dom0-xe-lines.sh), the inventory naming the host and
// dom0 as xapi does, and xe-toolstack-restart.
func TestXeInDom0(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	defer c.Close(ctx)
	dom0 := dialDom0(ctx, t, ep)

	// The inventory names what xapi knows: util_inventory.ml's keys.
	inv := runIn(ctx, t, dom0, "cat /etc/xensource-inventory")
	hosts, err := c.HostGetAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hostUUID, _ := c.Call(ctx, "host.get_uuid", string(hosts[0]))
	dom0s, _ := c.Call(ctx, "VM.get_by_name_label", "Control domain on host: "+dom0Hostname)
	dom0UUID, _ := c.Call(ctx, "VM.get_uuid", dom0s.([]any)[0])
	for _, want := range []string{"INSTALLATION_UUID='" + hostUUID.(string) + "'", "CONTROL_DOMAIN_UUID='" + dom0UUID.(string) + "'",
		"MANAGEMENT_INTERFACE='xenbr0'", "MANAGEMENT_ADDRESS_TYPE='IPv4'", "BUILD_NUMBER='70446c'", "PRODUCT_VERSION='6.2.0'"} {
		if !strings.Contains(inv, want) {
			t.Errorf("inventory lacks %s:\n%s", want, inv)
		}
	}

	// The VM network, made as xenlab's up makes it, found by name.
	net, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: "OpenStack VM Network"})
	if err != nil {
		t.Fatal(err)
	}
	netUUID, _ := c.Call(ctx, "network.get_uuid", string(net))
	if got := runIn(ctx, t, dom0, `xe network-list name-label="OpenStack VM Network" --minimal`); got != netUUID.(string)+"\n" {
		t.Fatalf("xe network-list --minimal: %q, want %q", got, netUUID)
	}
	// The walk-through's `xe network-list`: every network as a record.
	all := runIn(ctx, t, dom0, "xe network-list")
	if n := strings.Count(all, "uuid ( RO)"); n != 2 || !strings.Contains(all, "bridge ( RO): xenbr0\n\n\n") ||
		!strings.Contains(all, "name-label ( RW): OpenStack VM Network\n") {
		t.Fatalf("xe network-list:\n%s", all)
	}

	// The command lines of devstack havana-eol's tools/xen/functions.
	fns, err := os.ReadFile(filepath.Join("testdata", "dom0-xe-lines.sh"))
	if err != nil {
		t.Fatal(err)
	}
	runIn(ctx, t, dom0, "cat > /root/functions", sshc.WithStdin(strings.NewReader(string(fns))))
	bash := func(script string) string {
		return strings.TrimSpace(runIn(ctx, t, dom0, "bash -c '. /root/functions; "+script+"'"))
	}
	srs, _ := c.Call(ctx, "SR.get_by_name_label", "Local storage")
	srUUID, _ := c.Call(ctx, "SR.get_uuid", srs.([]any)[0])
	if got := bash("local_sr"); got != srUUID {
		t.Errorf("local_sr (get_local_sr): %q, want %v", got, srUUID)
	}
	if got := bash(`net_exists "OpenStack VM Network" && echo yes; net_exists "No Such" || echo no`); got != "yes\nno" {
		t.Errorf("net_exists (_network_exists): %q", got)
	}
	bridge, _ := c.NetworkGetBridge(ctx, net)
	if got := bash(`bridge_of "OpenStack VM Network"; bridge_of xenbr0`); got != bridge+"\nxenbr0" {
		t.Errorf("bridge_of (bridge_for): %q, want %s and xenbr0", got, bridge)
	}
	// setup_network prints what network-create prints: the new uuid.
	if got := strings.Split(bash(`make_net "New Net"; net_uuid "New Net"`), "\n"); len(got) != 2 || len(got[0]) != 36 || got[0] != got[1] {
		t.Errorf("make_net, then net_uuid (setup_network, _network_uuid): %q", got)
	}
	// xenapi_ip_on's line: TestXenapiIPOnInDom0 (it needs the host's own
	// network, as root).

	// xe-toolstack-restart: xapi's sessions end, the records stay.
	runIn(ctx, t, dom0, "xe-toolstack-restart")
	if got := runIn(ctx, t, dom0, `xe network-list name-label="OpenStack VM Network" --minimal`); got != netUUID.(string)+"\n" {
		t.Fatalf("after the restart: %q", got)
	}
	if _, err := c.Call(ctx, "network.get_uuid", string(net)); err != nil {
		t.Fatalf("xenlab's client did not log in again after the restart: %v", err)
	}
	// An unknown command, as xe answers it.
	res, err := dom0.Run(ctx, "xe vm-frobnicate")
	var re *sshc.RunError
	if !errors.As(err, &re) || res.ExitStatus != 1 || string(res.Stderr) != "Unknown command: vm-frobnicate\nFor usage run: 'xe help'\n" {
		t.Fatalf("unknown command: %v %d %q", err, res.ExitStatus, res.Stderr)
	}
}

// TestVIFPortFoundByIfaceID: a started VM's port on dom0's switch carries
// what ovs-xapi-sync writes, so neutron's agent finds it through netwrap
// with `ovs-vsctl find Interface external_ids:iface-id=<vif uuid>` and
// reads iface-status=active; on 6.2 and on 8.2, whose dom0 runs plugins
// under Python 2.7 (the plugin, in netwrap's 2013 style, is Python 2
// only), with the model switch and real Open vSwitch.
func TestVIFPortFoundByIfaceID(t *testing.T) {
	if _, err := xapid.Python2(); err != nil {
		t.Skipf("the netwrap-style plugin is Python 2 only and %v", err)
	}
	plugin, err := os.ReadFile(filepath.Join("testdata", "peer", "netwrap"))
	if err != nil {
		t.Fatal(err)
	}
	forEachOVSMode(t, func(t *testing.T, mode ovs.Mode) {
		for _, version := range []string{"6.2", "8.2"} {
			t.Run(version, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				h, err := Start(ctx, Options{OVS: mode, Version: version, Logf: t.Logf})
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				if err := os.WriteFile(h.dom0.HostPath("/etc/xapi.d/plugins/netwrap"), plugin, 0o755); err != nil {
					t.Fatal(err)
				}
				c := dialXAPI(ctx, t, h.Endpoints())
				defer c.Close(ctx)
				vm := newGuestVM(ctx, t, c, "domU")
				hosts, _ := c.HostGetAll(ctx)
				mgmt, _, err := c.ManagementNetwork(ctx, hosts[0])
				if err != nil {
					t.Fatal(err)
				}
				vif, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.VMStart(ctx, vm, false, false); err != nil {
					t.Fatal(err)
				}
				vifUUID, _ := c.Call(ctx, "VIF.get_uuid", string(vif))
				mac, _ := c.Call(ctx, "VIF.get_MAC", string(vif))
				run := func(argv ...string) string {
					t.Helper()
					cmd, _ := json.Marshal(argv)
					out, err := c.HostCallPlugin(ctx, hosts[0], "netwrap", "run_command", map[string]string{"cmd": string(cmd)})
					if err != nil {
						t.Fatalf("netwrap %v: %v", argv, err)
					}
					var s string
					if err := json.Unmarshal([]byte(out), &s); err != nil {
						t.Fatalf("netwrap answer %q: %v", out, err)
					}
					return strings.TrimSpace(s)
				}
				name := run("ovs-vsctl", "--columns=name", "--bare", "find", "Interface", "external_ids:iface-id="+vifUUID.(string))
				domid, _ := c.Call(ctx, "VM.get_domid", string(vm))
				if want := "vif" + domid.(string) + ".0"; name != want {
					t.Fatalf("find by iface-id: %q, want %s", name, want)
				}
				for key, want := range map[string]string{"iface-status": "active", "attached-mac": mac.(string), "xs-vif-uuid": vifUUID.(string)} {
					if got := run("ovs-vsctl", "get", "Interface", name, "external_ids:"+key); strings.Trim(got, `"`) != want {
						t.Errorf("external_ids:%s = %s, want %s", key, got, want)
					}
				}
				if got := run("ovs-vsctl", "list-ports", "xenbr0"); !strings.Contains("\n"+got+"\n", "\neth0\n") {
					t.Errorf("eth0 is not a port of xenbr0: %q", got)
				}
				// The bridge: xs-network-uuids from xapi, bridge-id from ovs-xapi-sync.
				netUUID, _ := c.Call(ctx, "network.get_uuid", string(mgmt))
				for _, key := range []string{"xs-network-uuids", "bridge-id"} {
					if got := run("ovs-vsctl", "br-get-external-id", "xenbr0", key); got != netUUID {
						t.Errorf("xenbr0 external_ids:%s = %q, want %v", key, got, netUUID)
					}
				}
				// dom0's python is 2.7 on every version; 8.2's dom0 has a
				// python3 too.
				dom0 := dialDom0(ctx, t, h.Endpoints())
				if got := strings.TrimSpace(runIn(ctx, t, dom0, `python -c 'import sys; print("%d.%d" % sys.version_info[:2])'`)); !strings.HasPrefix(got, "2.") {
					t.Errorf("dom0's python is %s", got)
				}
				if version == "8.2" {
					if _, err := exec.LookPath("python3"); err == nil {
						if got := strings.TrimSpace(runIn(ctx, t, dom0, `python3 -c 'import sys; print(sys.version_info[0])'`)); got != "3" {
							t.Errorf("dom0's python3 is %s", got)
						}
					}
				}
			})
		}
	})
}
