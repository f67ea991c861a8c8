package xapid

import "testing"

// TestRecordFieldsByRelease: records have the fields of the release's
// datamodel (lifecycle annotations of xen-api's ocaml/idl/datamodel*.ml,
// v1.249.0): later fields absent on earlier releases, with no accessor,
// and a later release's fields present with their values.
func TestRecordFieldsByRelease(t *testing.T) {
	for _, tc := range []struct {
		version  string
		has, not map[string][]string // class -> fields
	}{
		{"6.2", map[string][]string{"network": {"bridge", "default_locking_mode"}, "PIF": {"primary_address_type"}},
			map[string][]string{"network": {"managed", "assigned_ips", "purpose"}, "PIF": {"managed", "properties", "capabilities"},
				"VM": {"requires_reboot", "domain_type"}, "host": {"control_domain", "ssl_legacy"}}},
		{"7.1", map[string][]string{"network": {"assigned_ips"}, "PIF": {"managed", "properties", "capabilities"},
			"VM": {"requires_reboot", "has_vendor_device"}, "host": {"control_domain", "ssl_legacy"}},
			map[string][]string{"network": {"managed", "purpose"}, "VM": {"domain_type", "NVRAM"}, "host": {"certificates"}}},
		{"8.2", map[string][]string{"network": {"managed", "purpose"}, "VM": {"domain_type", "NVRAM", "VUSBs"},
			"host": {"certificates", "editions", "iscsi_iqn"}, "VIF": {"ipv4_configuration_mode", "reserved_pci"}}, nil},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s, _, sess := newTestServer(t, Options{Seed: Seed{Version: tc.version}})
			mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}})
			vm := newVM(t, s, sess, "domU")
			net := one(t, mustCall(t, s, "network.get_by_name_label", sess, "n"))
			mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
			for _, want := range []struct {
				m       map[string][]string
				present bool
			}{{tc.has, true}, {tc.not, false}} {
				for class, fields := range want.m {
					recs := mustCall(t, s, class+".get_all_records", sess).(map[string]any)
					for ref, r := range recs {
						for _, f := range fields {
							if _, ok := r.(map[string]any)[f]; ok != want.present {
								t.Errorf("%s %s: field %s present %v, want %v", class, ref, f, ok, want.present)
							}
							_, err := s.Call(t.Context(), class+".get_"+f, sess, ref)
							if (err == nil) != want.present {
								t.Errorf("%s.get_%s: %v (want present %v)", class, f, err, want.present)
							}
						}
					}
				}
			}
			switch tc.version {
			case "8.2":
				if d := mustCall(t, s, "VM.get_domain_type", sess, vm); d != "pv" {
					t.Errorf("domain_type %v", d)
				}
				fallthrough
			case "7.1":
				dom0 := one(t, mustCall(t, s, "VM.get_by_name_label", sess, "Control domain on host: "+
					mustCall(t, s, "host.get_name_label", sess, s.HostRef()).(string)))
				if got := mustCall(t, s, "host.get_control_domain", sess, s.HostRef()); got != dom0 {
					t.Errorf("control_domain %v, want %v", got, dom0)
				}
			}
		})
	}
}
