package xapid

import (
	"strconv"
	"testing"
)

// TestPortsCarryOVSXapiSyncIDs checks the Interface external_ids a VIF's
// port gets on dom0's switch: xen-api's scripts/vif keys, and what Open
// vSwitch's ovs-xapi-sync adds (iface-id from the VIF's nicira-iface-id,
// else its uuid; iface-status=active for a vif without a tap; vm-id from
// the VM's nicira-vm-id, else its uuid, from Open vSwitch 1.7 on, so not on
// 6.2's). The management bridge has the physical eth0 as a port.
func TestPortsCarryOVSXapiSyncIDs(t *testing.T) {
	for _, tc := range []struct {
		version string
		vmID    bool
	}{{"6.2", false}, {"7.1", true}, {"8.2", true}} {
		t.Run(tc.version, func(t *testing.T) {
			s, mh, sess := newTestServer(t, Options{Seed: Seed{Version: tc.version}})
			if _, ok := mh.Port(ManagementBridge, "eth0"); !ok {
				t.Fatalf("eth0 is not a port of %s", ManagementBridge)
			}
			net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
			vm := newVM(t, s, sess, "domU")
			mustCall(t, s, "VM.add_to_other_config", sess, vm, "nicira-vm-id", "nova-instance-1")
			plain := mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0")).(string)
			named := vifArgs(vm, net, "1")
			named["other_config"] = map[string]any{"nicira-iface-id": "neutron-port-1"}
			nicira := mustCall(t, s, "VIF.create", sess, named).(string)
			mustCall(t, s, "VM.start", sess, vm, false, false)
			bridge := mustCall(t, s, "network.get_bridge", sess, net).(string)
			domid := mustCall(t, s, "VM.get_domid", sess, vm).(int64)
			vmUUID := mustCall(t, s, "VM.get_uuid", sess, vm).(string)
			for i, c := range []struct{ vif, ifaceID string }{
				{plain, mustCall(t, s, "VIF.get_uuid", sess, plain).(string)},
				{nicira, "neutron-port-1"},
			} {
				port := "vif" + strconv.FormatInt(domid, 10) + "." + strconv.Itoa(i)
				ids, ok := mh.Port(bridge, port)
				if !ok {
					t.Fatalf("no port %s on %s", port, bridge)
				}
				want := map[string]string{
					"iface-id": c.ifaceID, "iface-status": "active", "xs-vm-uuid": vmUUID,
					"xs-vif-uuid":  mustCall(t, s, "VIF.get_uuid", sess, c.vif).(string),
					"attached-mac": mustCall(t, s, "VIF.get_MAC", sess, c.vif).(string),
				}
				for k, v := range want {
					if ids[k] != v {
						t.Errorf("%s: external_ids:%s = %q, want %q (all: %v)", port, k, ids[k], v, ids)
					}
				}
				if got, has := ids["vm-id"]; has != tc.vmID || (has && got != "nova-instance-1") {
					t.Errorf("%s: vm-id %q (present %v), want present %v", port, got, has, tc.vmID)
				}
			}
		})
	}
}
