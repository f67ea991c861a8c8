package xapid

import "slices"

// A record has the fields of its release's datamodel. The simulator's
// records are XenServer 6.2's (schema.go); this table says, for the
// fields that came later, which API version brought them (the release's
// API minor, 2.x: clearwater 6.2 = 0, vgpu_productisation 6.2 SP1 = 1,
// creedence 6.5 = 3, cream 6.5 SP1 = 4, dundee 7.0 = 5, ely 7.1 = 6,
// falcon 7.2 = 7, inverness 7.3 = 8, kolkata 7.5 = 10, naples 8.0 = 12,
// quebec 8.1 = 14, stockholm 8.2 = 15) and, for those the simulator does
// not store, the value a record shows: the datamodel's default, or what
// xapi sets. Read from the fields' lifecycle and in_product_since
// annotations in xen-api ocaml/idl/datamodel.ml, datamodel_vm.ml,
// datamodel_host.ml and datamodel_pool.ml at tag v1.249.0 and
// datamodel_types.ml's release table; VM.VUSBs carries no annotation there
// and is placed at inverness, which brought the VUSB class.
type laterField struct {
	since int64
	// value is what a record of a release that has the field shows when
	// the simulator does not store it; nil for stored fields.
	value func(d *db, o *object) any
}

func constValue(v any) func(*db, *object) any {
	return func(*db, *object) any { return copyValue(v) }
}

var (
	null      = constValue(NullRef)
	noStrings = func(*db, *object) any { return []string{} }
	noMap     = func(*db, *object) any { return map[string]string{} }
	isFalse   = constValue(false)
	empty     = constValue("")
)

var laterFields = map[string]map[string]laterField{
	"network": {
		"assigned_ips": {since: 3}, "managed": {since: 7},
		"purpose": {8, noStrings},
	},
	"PIF": {
		"managed": {since: 1}, "properties": {since: 3},
		"capabilities": {5, noStrings}, "igmp_snooping_status": {8, constValue("unknown")},
		"sriov_physical_PIF_of": {10, noStrings}, "sriov_logical_PIF_of": {10, noStrings}, "PCI": {10, null},
	},
	"VM": {
		"hardware_platform_version": {4, constValue(int64(0))}, "has_vendor_device": {5, isFalse},
		"requires_reboot": {6, isFalse}, "reference_label": {6, empty},
		"is_default_template": {7, isFalse}, "snapshot_schedule": {7, null}, "is_vmss_snapshot": {7, isFalse},
		"VUSBs": {8, noStrings},
		"domain_type": {10, func(d *db, o *object) any {
			if o.fields["HVM_boot_policy"] != "" {
				return "hvm"
			}
			return "pv"
		}},
		"NVRAM": {12, noMap},
	},
	"VIF": {
		"ipv4_configuration_mode": {5, constValue("None")}, "ipv4_addresses": {5, noStrings}, "ipv4_gateway": {5, empty},
		"ipv6_configuration_mode": {5, constValue("None")}, "ipv6_addresses": {5, noStrings}, "ipv6_gateway": {5, empty},
		"reserved_pci": {10, null},
	},
	"VDI":  {"is_tools_iso": {5, isFalse}, "cbt_enabled": {8, isFalse}},
	"SR":   {"clustered": {5, isFalse}, "is_tools_sr": {5, isFalse}},
	"task": {"backtrace": {5, constValue("()")}},
	"pool": {
		"health_check_config": {5, noMap}, "ha_cluster_stack": {5, empty}, "guest_agent_config": {5, noMap},
		"cpu_info": {5, noMap}, "policy_no_vendor_device": {5, isFalse}, "live_patching_disabled": {6, isFalse},
		"igmp_snooping_enabled": {8, isFalse}, "uefi_certificates": {14, empty},
	},
	"VM_guest_metrics": {
		"can_use_hotplug_vbd": {5, constValue("unspecified")}, "can_use_hotplug_vif": {5, constValue("unspecified")},
		"PV_drivers_detected": {5, constValue(true)},
	},
	"VM_metrics": {"hvm": {6, isFalse}, "nested_virt": {6, isFalse}, "nomigrate": {6, isFalse}},
	"host": {
		"display": {4, constValue("enabled")}, "virtual_hardware_platform_versions": {4, func(*db, *object) any { return []any{int64(0)} }},
		"ssl_legacy": {5, constValue(true)},
		"updates":    {6, noStrings}, "updates_requiring_reboot": {6, noStrings},
		"control_domain": {6, func(d *db, o *object) any {
			for _, vm := range d.all("VM") {
				if vm.fields["is_control_domain"] == true && vm.fields["resident_on"] == o.ref {
					return vm.ref
				}
			}
			return NullRef
		}},
		"features": {7, noStrings}, "PUSBs": {8, noStrings},
		"iscsi_iqn": {10, empty}, "multipathing": {10, isFalse},
		"uefi_certificates": {14, empty}, "certificates": {15, noStrings}, "editions": {15, noStrings},
	},
}

func init() {
	for class, fs := range laterFields {
		rec := map[string]any{}
		for name, f := range fs {
			if f.value != nil {
				rec[name] = nil
			}
		}
		noteFields(class, rec)
	}
}

// hasFieldIn reports whether a release's records of class have field.
func (r Release) hasFieldIn(class, field string) bool {
	f, later := laterFields[class][field]
	return !later || r.Since(f.since)
}

// shapeRecord makes a record the release's: fields of later releases
// removed, the later fields it has and the simulator does not store
// added. The caller holds the db lock.
func (r Release) shapeRecord(d *db, o *object, rec map[string]any) {
	for name, f := range laterFields[o.class] {
		switch {
		case !r.Since(f.since):
			delete(rec, name)
		case f.value != nil:
			if _, stored := rec[name]; !stored {
				rec[name] = f.value(d, o)
			}
		}
	}
}

// fieldAccessor is the field a generic accessor (get_, set_, add_to_,
// remove_from_) names, if name is one.
func fieldAccessor(verb string) (string, bool) {
	for _, p := range []string{"get_", "set_", "add_to_", "remove_from_"} {
		if f, ok := cutPrefix(verb, p); ok && !slices.Contains([]string{"all", "all_records", "record", "by_uuid", "by_name_label"}, f) {
			return f, true
		}
	}
	return "", false
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}
