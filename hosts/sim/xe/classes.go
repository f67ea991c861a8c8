package xe

import "strings"

// The classes xe lists, in the field order of records.ml (XS62). Fields
// of classes the simulator does not model (PBD metrics, PIF metrics, host
// metrics) read as xe reads a missing record.

func vmFields() []field {
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label").ci(),
		rw("name-description", "name_description"),
		rwInt("user-version", "user_version"),
		func() field {
			f := plain("is-a-template", "is_a_template")
			f.set = func(s *state, o obj, v string) error {
				b, err := boolArg("is-a-template", v)
				if err != nil {
					return err
				}
				_, err = s.c.call("VM.set_is_a_template", o.ref, b)
				return err
			}
			return f
		}(),
		plain("is-a-snapshot", "is_a_snapshot"),
		ref("snapshot-of", "snapshot_of", "VM"),
		refSet("snapshots", "snapshots", "VM", false),
		date("snapshot-time", "snapshot_time"),
		plain("transportable-snapshot-id", "transportable_snapshot_id").hide(),
		func() field { f := mapRO("snapshot-info", "snapshot_info"); f.getMap = nil; return f }(),
		ref("parent", "parent", "VM"),
		refSet("children", "children", "VM", false),
		plain("is-control-domain", "is_control_domain"),
		{name: "power-state", get: func(s *state, o obj) string { return strings.ToLower(str(o.rec["power_state"])) }},
		via("memory-actual", "metrics", "VM_metrics", "memory_actual", nid, str),
		{name: "memory-target", expensiveF: true, get: func(s *state, o obj) string {
			if str(o.rec["power_state"]) == "Halted" {
				return "0" // query_data_source: VM_BAD_POWER_STATE -> 0
			}
			return "<unknown>"
		}},
		plain("memory-overhead", "memory_overhead"),
		rwBytes("memory-static-max", "memory_static_max"),
		rwBytes("memory-dynamic-max", "memory_dynamic_max"),
		rwBytes("memory-dynamic-min", "memory_dynamic_min"),
		rwBytes("memory-static-min", "memory_static_min"),
		ref("suspend-VDI-uuid", "suspend_VDI", "VDI"),
		func() field {
			f := ref("suspend-SR-uuid", "suspend_SR", "SR")
			f.set = func(s *state, o obj, v string) error {
				sr, err := s.c.call("SR.get_by_uuid", v)
				if err != nil {
					return err
				}
				return s.setField(o, "suspend_SR", sr)
			}
			return f
		}(),
		mapRW("VCPUs-params", "VCPUs_params"),
		rwInt("VCPUs-max", "VCPUs_max"),
		rwInt("VCPUs-at-startup", "VCPUs_at_startup"),
		action("actions-after-shutdown", "actions_after_shutdown", onNormalExit),
		action("actions-after-reboot", "actions_after_reboot", onNormalExit),
		action("actions-after-crash", "actions_after_crash", onCrash),
		refSet("console-uuids", "consoles", "console", true),
		mapRW("platform", "platform"),
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		mapRW("blocked-operations", "blocked_operations"),
		field{name: "allowed-VBD-devices", getSet: func(*state, obj) []string { return nil }, get: func(*state, obj) string { return "" }}.expensiveField(),
		field{name: "allowed-VIF-devices", getSet: func(*state, obj) []string { return nil }, get: func(*state, obj) string { return "" }}.expensiveField(),
		{name: "possible-hosts", expensiveF: true, get: func(s *state, o obj) string { return strings.Join(s.allUUIDs("host"), "; ") }},
		rw("HVM-boot-policy", "HVM_boot_policy"),
		mapRW("HVM-boot-params", "HVM_boot_params"),
		float3("HVM-shadow-multiplier", "HVM_shadow_multiplier"),
		rw("PV-kernel", "PV_kernel"),
		rw("PV-ramdisk", "PV_ramdisk"),
		rw("PV-args", "PV_args"),
		rw("PV-legacy-args", "PV_legacy_args"),
		rw("PV-bootloader", "PV_bootloader"),
		rw("PV-bootloader-args", "PV_bootloader_args"),
		func() field { f := mapRO("last-boot-CPU-flags", "last_boot_CPU_flags"); f.getMap = nil; return f }(),
		{name: "last-boot-record", expensiveF: true, get: func(s *state, o obj) string { return "'" + str(o.rec["last_booted_record"]) + "'" }},
		ref("resident-on", "resident_on", "host"),
		ref("affinity", "affinity", "host"),
		mapRW("other-config", "other_config"),
		plain("dom-id", "domid"),
		plain("recommendations", "recommendations"),
		mapRW("xenstore-data", "xenstore_data"),
		rwBool("ha-always-run", "ha_always_run").deprecate(),
		rw("ha-restart-priority", "ha_restart_priority"),
		constant("blobs", ""),
		via("start-time", "metrics", "VM_metrics", "start_time", unknownTime, str),
		via("install-time", "metrics", "VM_metrics", "install_time", unknownTime, str),
		via("VCPUs-number", "metrics", "VM_metrics", "VCPUs_number", nid, str),
		field{name: "VCPUs-utilisation", getMap: func(*state, obj) [][2]string { return nil }, get: func(*state, obj) string { return "" }}.expensiveField(),
		viaMap("os-version", "guest_metrics", "VM_guest_metrics", "os_version"),
		viaMap("PV-drivers-version", "guest_metrics", "VM_guest_metrics", "PV_drivers_version"),
		via("PV-drivers-up-to-date", "guest_metrics", "VM_guest_metrics", "PV_drivers_up_to_date", nid, str),
		viaMap("memory", "guest_metrics", "VM_guest_metrics", "memory"),
		viaMap("disks", "guest_metrics", "VM_guest_metrics", "disks"),
		viaMap("networks", "guest_metrics", "VM_guest_metrics", "networks"),
		viaMap("other", "guest_metrics", "VM_guest_metrics", "other"),
		via("live", "guest_metrics", "VM_guest_metrics", "live", nid, str),
		via("guest-metrics-last-updated", "guest_metrics", "VM_guest_metrics", "last_updated", nid, str),
		constant("cooperative", "true").expensiveField().deprecate(),
		tags(),
		ref("appliance", "appliance", "VM_appliance"),
		rwInt("start-delay", "start_delay"),
		rwInt("shutdown-delay", "shutdown_delay"),
		rwInt("order", "order"),
		plain("version", "version"),
		plain("generation-id", "generation_id"),
	}
}

func networkFields() []field {
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label"),
		rw("name-description", "name_description"),
		refSet("VIF-uuids", "VIFs", "VIF", true),
		refSet("PIF-uuids", "PIFs", "PIF", true),
		rwInt("MTU", "MTU"),
		plain("bridge", "bridge"),
		mapRW("other-config", "other_config"),
		constant("blobs", ""),
		tags(),
		rw("default-locking-mode", "default_locking_mode"),
	}
}

func pifFields() []field {
	metric := func(name string) field { return constant(name, nid) }
	return []field{
		plain("uuid", "uuid"),
		plain("device", "device"),
		plain("MAC", "MAC").ci(),
		plain("physical", "physical"),
		plain("currently-attached", "currently_attached"),
		plain("MTU", "MTU"),
		plain("VLAN", "VLAN"),
		refSet("bond-master-of", "bond_master_of", "Bond", false),
		ref("bond-slave-of", "bond_slave_of", "Bond"),
		refSet("tunnel-access-PIF-of", "tunnel_access_PIF_of", "tunnel", false),
		refSet("tunnel-transport-PIF-of", "tunnel_transport_PIF_of", "tunnel", false),
		plain("management", "management"),
		ref("network-uuid", "network", "network"),
		refName("network-name-label", "network", "network"),
		ref("host-uuid", "host", "host"),
		refName("host-name-label", "host", "host"),
		plain("IP-configuration-mode", "ip_configuration_mode"),
		plain("IP", "IP"),
		plain("netmask", "netmask"),
		plain("gateway", "gateway"),
		plain("IPv6-configuration-mode", "ipv6_configuration_mode"),
		func() field { f := set("IPv6", "IPv6", "; "); f.getSet = nil; return f }(),
		plain("IPv6-gateway", "ipv6_gateway"),
		plain("primary-address-type", "primary_address_type"),
		plain("DNS", "DNS"),
		constant("io_read_kbs", "<unknown>").expensiveField(),
		constant("io_write_kbs", "<unknown>").expensiveField(),
		metric("carrier"), metric("vendor-id"), metric("vendor-name"), metric("device-id"),
		metric("device-name"), metric("speed"), metric("duplex"),
		rwBool("disallow-unplug", "disallow_unplug"),
		metric("pci-bus-path"),
		mapRW("other-config", "other_config"),
	}
}

func vifFields() []field {
	return []field{
		plain("uuid", "uuid"),
		ref("vm-uuid", "VM", "VM"),
		refName("vm-name-label", "VM", "VM"),
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		plain("device", "device"),
		plain("MAC", "MAC").ci(),
		plain("MAC-autogenerated", "MAC_autogenerated"),
		plain("MTU", "MTU"),
		plain("currently-attached", "currently_attached"),
		rw("qos_algorithm_type", "qos_algorithm_type"),
		mapRW("qos_algorithm_params", "qos_algorithm_params"),
		set("qos_supported_algorithms", "qos_supported_algorithms", "; "),
		mapRW("other-config", "other_config"),
		ref("network-uuid", "network", "network"),
		refName("network-name-label", "network", "network"),
		constant("io_read_kbs", "<unknown>").expensiveField(),
		constant("io_write_kbs", "<unknown>").expensiveField(),
		rw("locking-mode", "locking_mode"),
		set("ipv4-allowed", "ipv4_allowed", "; "),
		set("ipv6-allowed", "ipv6_allowed", "; "),
	}
}

func hostFields() []field {
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label"),
		rw("name-description", "name_description"),
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		plain("enabled", "enabled"),
		plain("API-version-major", "API_version_major"),
		plain("API-version-minor", "API_version_minor"),
		plain("API-version-vendor", "API_version_vendor"),
		mapRO("API-version-vendor-implementation", "API_version_vendor_implementation"),
		mapRW("logging", "logging"),
		ref("suspend-image-sr-uuid", "suspend_image_sr", "SR"),
		ref("crash-dump-sr-uuid", "crash_dump_sr", "SR"),
		mapRO("software-version", "software_version"),
		set("capabilities", "capabilities", "; "),
		mapRW("other-config", "other_config"),
		mapRO("cpu_info", "cpu_info"),
		mapRO("chipset-info", "chipset_info"),
		plain("hostname", "hostname"),
		plain("address", "address"),
		set("supported-bootloaders", "supported_bootloaders", "; "),
		constant("blobs", ""),
		plain("memory-overhead", "memory_overhead"),
		constant("memory-total", nid),
		constant("memory-free", nid),
		constant("memory-free-computed", "<unknown>").expensiveField(),
		constant("host-metrics-live", nid),
		refSet("patches", "patches", "host_patch", true),
		set("ha-statefiles", "ha_statefiles", "; "),
		set("ha-network-peers", "ha_network_peers", "; "),
		plain("external-auth-type", "external_auth_type"),
		plain("external-auth-service-name", "external_auth_service_name"),
		mapRO("external-auth-configuration", "external_auth_configuration"),
		plain("edition", "edition"),
		mapRO("license-server", "license_server"),
		plain("power-on-mode", "power_on_mode"),
		mapRO("power-on-config", "power_on_config"),
		ref("local-cache-sr", "local_cache_sr", "SR"),
		tags(),
		mapRW("guest_VCPUs_params", "guest_VCPUs_params"),
	}
}

func poolFields() []field {
	srRef := func(name, api string) field {
		f := ref(name, api, "SR")
		f.set = func(s *state, o obj, v string) error {
			sr, err := s.c.call("SR.get_by_uuid", v)
			if err != nil {
				return err
			}
			return s.setField(o, api, sr)
		}
		return f
	}
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label"),
		rw("name-description", "name_description"),
		ref("master", "master", "host"),
		srRef("default-SR", "default_SR"),
		srRef("crash-dump-SR", "crash_dump_SR"),
		srRef("suspend-image-SR", "suspend_image_SR"),
		constant("supported-sr-types", "").expensiveField(),
		mapRW("other-config", "other_config"),
		plain("ha-enabled", "ha_enabled"),
		func() field { f := mapRO("ha-configuration", "ha_configuration"); f.getMap = nil; return f }(),
		func() field { f := set("ha-statefiles", "ha_statefiles", "; "); f.getSet = nil; return f }(),
		plain("ha-host-failures-to-tolerate", "ha_host_failures_to_tolerate"),
		plain("ha-plan-exists-for", "ha_plan_exists_for"),
		plain("ha-allow-overcommit", "ha_allow_overcommit"),
		plain("ha-overcommitted", "ha_overcommitted"),
		constant("blobs", ""),
		mapRO("gui-config", "gui_config").expensiveField(),
		plain("vswitch-controller", "vswitch_controller").hide(),
		func() field { f := mapRO("restrictions", "restrictions"); f.getMap = nil; return f }(),
		tags(),
	}
}

func srFields() []field {
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label"),
		rw("name-description", "name_description"),
		{name: "host", get: func(s *state, o obj) string { return s.srHost(o) }},
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		refSet("VDIs", "VDIs", "VDI", true),
		refSet("PBDs", "PBDs", "PBD", true),
		plain("virtual-allocation", "virtual_allocation"),
		plain("physical-utilisation", "physical_utilisation"),
		plain("physical-size", "physical_size"),
		plain("type", "type"),
		plain("content-type", "content_type"),
		rwBool("shared", "shared"),
		ref("introduced-by", "introduced_by", "DR_task"),
		mapRW("other-config", "other_config"),
		mapRO("sm-config", "sm_config"),
		constant("blobs", ""),
		plain("local-cache-enabled", "local_cache_enabled"),
		tags(),
	}
}

func vdiFields() []field {
	return []field{
		plain("uuid", "uuid"),
		rw("name-label", "name_label"),
		rw("name-description", "name_description"),
		plain("is-a-snapshot", "is_a_snapshot"),
		ref("snapshot-of", "snapshot_of", "VDI"),
		refSet("snapshots", "snapshots", "VDI", false),
		date("snapshot-time", "snapshot_time"),
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		ref("sr-uuid", "SR", "SR"),
		refName("sr-name-label", "SR", "SR"),
		refSet("vbd-uuids", "VBDs", "VBD", true),
		refSet("crashdump-uuids", "crash_dumps", "crashdump", true),
		plain("virtual-size", "virtual_size"),
		plain("physical-utilisation", "physical_utilisation"),
		plain("location", "location"),
		plain("type", "type"),
		plain("sharable", "sharable"),
		plain("read-only", "read_only"),
		plain("storage-lock", "storage_lock"),
		plain("managed", "managed"),
		ref("parent", "parent", "VDI"),
		plain("missing", "missing"),
		mapRW("other-config", "other_config"),
		mapRO("xenstore-data", "xenstore_data"),
		mapRO("sm-config", "sm_config"),
		rw("on-boot", "on_boot"),
		rwBool("allow-caching", "allow_caching"),
		plain("metadata-latest", "metadata_latest"),
		ref("metadata-of-pool", "metadata_of_pool", "pool"),
		tags(),
	}
}

func vbdFields() []field {
	return []field{
		plain("uuid", "uuid"),
		ref("vm-uuid", "VM", "VM"),
		refName("vm-name-label", "VM", "VM"),
		ref("vdi-uuid", "VDI", "VDI"),
		refName("vdi-name-label", "VDI", "VDI"),
		ops("allowed-operations", "allowed_operations"),
		ops("current-operations", "current_operations"),
		plain("empty", "empty"),
		plain("device", "device"),
		rw("userdevice", "userdevice"),
		rwBool("bootable", "bootable"),
		rw("mode", "mode"),
		rw("type", "type"),
		rwBool("unpluggable", "unpluggable"),
		plain("currently-attached", "currently_attached"),
		constant("attachable", "<unknown>").expensiveField(),
		plain("storage-lock", "storage_lock"),
		plain("status-code", "status_code"),
		plain("status-detail", "status_detail"),
		rw("qos_algorithm_type", "qos_algorithm_type"),
		mapRW("qos_algorithm_params", "qos_algorithm_params"),
		set("qos_supported_algorithms", "qos_supported_algorithms", "; "),
		mapRW("other-config", "other_config"),
		constant("io_read_kbs", "<unknown>").expensiveField(),
		constant("io_write_kbs", "<unknown>").expensiveField(),
	}
}

func taskFields() []field {
	return []field{
		plain("uuid", "uuid"),
		plain("name-label", "name_label"),
		plain("name-description", "name_description"),
		ref("subtask_of", "subtask_of", "task"),
		{name: "subtasks", get: func(s *state, o obj) string {
			var out []string
			for _, r := range strList(o.rec["subtasks"]) {
				out = append(out, s.uuidOf("task", r))
			}
			return strings.Join(out, ";")
		}},
		ref("resident-on", "resident_on", "host"),
		plain("status", "status"),
		float3("progress", "progress"),
		plain("type", "type"),
		plain("result", "result"),
		date("created", "created"),
		date("finished", "finished"),
		func() field { f := set("error_info", "error_info", "; "); f.getSet = nil; return f }(),
		func() field { f := set("allowed_operations", "allowed_operations", "; "); f.getSet = nil; return f }(),
		mapRW("other-config", "other_config"),
	}
}

func pbdFields() []field {
	return []field{
		plain("uuid", "uuid"),
		ref("host", "host", "host").deprecate(),
		ref("host-uuid", "host", "host"),
		refName("host-name-label", "host", "host"),
		ref("sr-uuid", "SR", "SR"),
		refName("sr-name-label", "SR", "SR"),
		mapRO("device-config", "device_config"),
		plain("currently-attached", "currently_attached"),
		mapRW("other-config", "other_config"),
	}
}

// classes are xe's record classes with their default filters and list
// columns (cli_operations.ml gen_cmds, XS62).
var classes = []*class{
	{cli: "pool", api: "pool", listParams: []string{"uuid", "name-label", "name-description", "master", "default-SR"}, fields: poolFields()},
	{cli: "pif", api: "PIF", listParams: []string{"uuid", "device", "VLAN", "mac", "network-uuid", "currently-attached"}, fields: pifFields()},
	{cli: "vif", api: "VIF", listParams: []string{"uuid", "device", "vm-uuid", "network-uuid"}, fields: vifFields()},
	{cli: "network", api: "network", listParams: []string{"uuid", "name-label", "name-description", "bridge"}, fields: networkFields(), standardList: true},
	{cli: "vm", api: "VM", filters: [][2]string{{"is-a-template", "false"}}, listParams: []string{"name-label", "uuid", "power-state"}, fields: vmFields(), standardList: true},
	{cli: "template", api: "VM", filters: [][2]string{{"is-a-template", "true"}, {"is-a-snapshot", "false"}}, listParams: []string{"name-label", "name-description", "uuid"}, fields: vmFields()},
	{cli: "snapshot", api: "VM", filters: [][2]string{{"is-a-snapshot", "true"}}, listParams: []string{"name-label", "name-description", "uuid", "snapshot_of", "snapshot_time"}, fields: vmFields()},
	{cli: "host", api: "host", listParams: []string{"uuid", "name-label", "name-description"}, fields: hostFields()},
	{cli: "vdi", api: "VDI", listParams: []string{"uuid", "name-label", "name-description", "virtual-size", "read-only", "sharable", "sr-uuid"}, fields: vdiFields()},
	{cli: "vbd", api: "VBD", listParams: []string{"uuid", "vm-uuid", "vm-name-label", "vdi-uuid", "device", "empty"}, fields: vbdFields()},
	{cli: "sr", api: "SR", listParams: []string{"uuid", "name-label", "name-description", "host", "type", "content-type"}, fields: srFields(), standardList: true},
	{cli: "pbd", api: "PBD", listParams: []string{"uuid", "host-uuid", "sr-uuid", "device-config", "currently-attached"}, fields: pbdFields()},
	{cli: "task", api: "task", listParams: []string{"uuid", "name-label", "name-description", "status", "progress"}, fields: taskFields()},
}
