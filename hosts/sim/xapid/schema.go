package xapid

import "time"

// classSpec says which fields of a class have generic setters and which
// map fields have add_to_/remove_from_ methods, as xapi's datamodel marks
// them read-write.
type classSpec struct {
	rw        []string // set_<field>
	maps      []string // add_to_<field>, remove_from_<field>
	nameLabel bool     // get_by_name_label exists
}

// classes lists the classes the simulator serves, by xapi's class name.
var classes = map[string]classSpec{
	"session": {maps: []string{"other_config"}},
	"pool": {rw: []string{"name_label", "name_description", "default_SR", "suspend_image_SR", "crash_dump_SR", "other_config"},
		maps: []string{"other_config"}},
	"host": {rw: []string{"name_label", "name_description", "other_config", "tags"},
		maps: []string{"other_config"}, nameLabel: true},
	"network": {rw: []string{"name_label", "name_description", "MTU", "other_config", "tags"},
		maps: []string{"other_config"}, nameLabel: true},
	"PIF": {rw: []string{"other_config"}, maps: []string{"other_config"}},
	"VIF": {rw: []string{"other_config", "qos_algorithm_type", "qos_algorithm_params", "locking_mode"},
		maps: []string{"other_config", "qos_algorithm_params"}},
	"VM": {rw: []string{"name_label", "name_description", "user_version", "affinity",
		"actions_after_shutdown", "actions_after_reboot", "actions_after_crash",
		"PV_bootloader", "PV_kernel", "PV_ramdisk", "PV_args", "PV_bootloader_args", "PV_legacy_args",
		"HVM_boot_policy", "HVM_boot_params", "platform", "PCI_bus", "other_config", "recommendations",
		"xenstore_data", "tags", "blocked_operations", "VCPUs_params", "suspend_SR"},
		maps:      []string{"other_config", "platform", "HVM_boot_params", "xenstore_data", "blocked_operations", "VCPUs_params"},
		nameLabel: true},
	"VM_guest_metrics": {rw: []string{"other_config"}, maps: []string{"other_config"}},
	"VM_metrics":       {rw: []string{"other_config"}, maps: []string{"other_config"}},
	"SR": {rw: []string{"name_label", "name_description", "other_config", "tags"},
		maps: []string{"other_config"}, nameLabel: true},
	"VDI": {rw: []string{"name_label", "name_description", "other_config", "tags"},
		maps: []string{"other_config"}, nameLabel: true},
	"VBD": {rw: []string{"other_config", "userdevice", "bootable", "mode", "type"},
		maps: []string{"other_config"}},
	"task": {rw: []string{"other_config"}, maps: []string{"other_config"}, nameLabel: true},
}

// epoch is xapi's "never" date (19700101T00:00:00Z).
var epoch = time.Unix(0, 0).UTC()

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// vmRecord is a halted, non-template VM with xapi's defaults (XenServer
// 6.2 field set).
func vmRecord(name string) map[string]any {
	const gib = int64(1) << 30
	return map[string]any{
		"uuid": newUUID(), "allowed_operations": []string{}, "current_operations": map[string]string{},
		"power_state": "Halted", "name_label": name, "name_description": "", "user_version": int64(1),
		"is_a_template": false, "suspend_VDI": NullRef, "resident_on": NullRef, "affinity": NullRef,
		"memory_overhead": int64(11534336), "memory_target": int64(0),
		"memory_static_max": gib, "memory_dynamic_max": gib, "memory_dynamic_min": gib, "memory_static_min": gib / 4,
		"VCPUs_params": map[string]string{}, "VCPUs_max": int64(1), "VCPUs_at_startup": int64(1),
		"actions_after_shutdown": "destroy", "actions_after_reboot": "restart", "actions_after_crash": "restart",
		"consoles": []string{}, "crash_dumps": []string{}, "VTPMs": []string{},
		"PV_bootloader": "", "PV_kernel": "", "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
		"HVM_boot_policy": "", "HVM_boot_params": map[string]string{}, "HVM_shadow_multiplier": 1.0,
		"platform": map[string]string{}, "PCI_bus": "", "other_config": map[string]string{"mac_seed": newUUID()},
		"domid": int64(-1), "domarch": "", "last_boot_CPU_flags": map[string]string{}, "is_control_domain": false,
		"metrics": NullRef, "guest_metrics": NullRef, "last_booted_record": "", "recommendations": "",
		"xenstore_data": map[string]string{}, "ha_always_run": false, "ha_restart_priority": "",
		"is_a_snapshot": false, "snapshot_of": NullRef, "snapshot_time": epoch, "transportable_snapshot_id": "",
		"blobs": map[string]string{}, "tags": []string{}, "blocked_operations": map[string]string{},
		"snapshot_info": map[string]string{}, "snapshot_metadata": "", "parent": NullRef, "children": []string{},
		"bios_strings": map[string]string{}, "protection_policy": NullRef, "is_snapshot_from_vmpp": false,
		"appliance": NullRef, "start_delay": int64(0), "shutdown_delay": int64(0), "order": int64(0),
		"VGPUs": []string{}, "attached_PCIs": []string{}, "suspend_SR": NullRef, "version": int64(0),
		"generation_id": "",
	}
}

func networkRecord(name, bridge string, managed bool) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "name_label": name, "name_description": "", "allowed_operations": []string{},
		"current_operations": map[string]string{}, "MTU": int64(1500), "other_config": map[string]string{},
		"bridge": bridge, "managed": managed, "blobs": map[string]string{}, "tags": []string{},
		"default_locking_mode": "unlocked", "assigned_ips": map[string]string{},
	}
}

func vifRecord(device, network, vm, mac string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "allowed_operations": []string{}, "current_operations": map[string]string{},
		"device": device, "network": network, "VM": vm, "MAC": mac, "MTU": int64(1500),
		"other_config": map[string]string{}, "currently_attached": false, "status_code": int64(0),
		"status_detail": "", "runtime_properties": map[string]string{}, "qos_algorithm_type": "",
		"qos_algorithm_params": map[string]string{}, "qos_supported_algorithms": []string{},
		"metrics": NullRef, "MAC_autogenerated": false, "locking_mode": "network_default",
		"ipv4_allowed": []string{}, "ipv6_allowed": []string{},
	}
}

func vdiRecord(name, sr string, size int64) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "name_label": name, "name_description": "", "allowed_operations": []string{},
		"current_operations": map[string]string{}, "SR": sr, "crash_dumps": []string{},
		"virtual_size": size, "physical_utilisation": size / 8, "type": "system", "sharable": false,
		"read_only": false, "other_config": map[string]string{}, "storage_lock": false, "location": newUUID(),
		"managed": true, "missing": false, "parent": NullRef, "xenstore_data": map[string]string{},
		"sm_config": map[string]string{}, "is_a_snapshot": false, "snapshot_of": NullRef,
		"snapshots": []string{}, "snapshot_time": epoch, "tags": []string{}, "allow_caching": false,
		"on_boot": "persist", "metadata_of_pool": NullRef, "metadata_latest": false,
	}
}

func vbdRecord(vm, vdi, userdevice string, bootable bool) map[string]any {
	typ := "Disk"
	if vdi == NullRef {
		typ = "CD"
	}
	return map[string]any{
		"uuid": newUUID(), "allowed_operations": []string{}, "current_operations": map[string]string{},
		"VM": vm, "VDI": vdi, "device": "", "userdevice": userdevice, "bootable": bootable, "mode": "RW",
		"type": typ, "unpluggable": true, "storage_lock": false, "empty": vdi == NullRef,
		"other_config": map[string]string{}, "currently_attached": false, "status_code": int64(0),
		"status_detail": "", "runtime_properties": map[string]string{}, "qos_algorithm_type": "",
		"qos_algorithm_params": map[string]string{}, "qos_supported_algorithms": []string{}, "metrics": NullRef,
	}
}

func taskRecord(name, host string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "name_label": name, "name_description": "", "allowed_operations": []string{},
		"current_operations": map[string]string{}, "created": now(), "finished": epoch, "status": "pending",
		"resident_on": host, "progress": 0.0, "type": "<none/>", "result": "", "error_info": []string{},
		"other_config": map[string]string{}, "subtask_of": NullRef, "subtasks": []string{},
	}
}

func sessionRecord(host, user, originator string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "this_host": host, "this_user": NullRef, "last_active": now(), "pool": false,
		"other_config": map[string]string{}, "is_local_superuser": true, "subject": NullRef,
		"validation_time": now(), "auth_user_sid": "", "auth_user_name": user, "rbac_permissions": []string{},
		"tasks": []string{}, "parent": NullRef, "originator": originator,
	}
}

func poolRecord(master, sr string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "name_label": "", "name_description": "", "master": master, "default_SR": sr,
		"suspend_image_SR": sr, "crash_dump_SR": sr, "other_config": map[string]string{},
		"ha_enabled": false, "ha_configuration": map[string]string{}, "ha_statefiles": []string{},
		"ha_host_failures_to_tolerate": int64(0), "ha_plan_exists_for": int64(0), "ha_allow_overcommit": false,
		"ha_overcommitted": false, "blobs": map[string]string{}, "tags": []string{}, "gui_config": map[string]string{},
		"wlb_url": "", "wlb_username": "", "wlb_enabled": false, "wlb_verify_cert": false,
		"redo_log_enabled": false, "redo_log_vdi": NullRef, "vswitch_controller": "", "restrictions": map[string]string{},
		"metadata_VDIs": []string{},
	}
}

func pifRecord(device, network, host, mac, ip string, management bool) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "device": device, "network": network, "host": host, "MAC": mac, "MTU": int64(1500),
		"VLAN": int64(-1), "metrics": NullRef, "physical": true, "currently_attached": true,
		"ip_configuration_mode": "Static", "IP": ip, "netmask": "255.255.255.0", "gateway": "", "DNS": "",
		"bond_slave_of": NullRef, "bond_master_of": []string{}, "VLAN_master_of": NullRef, "VLAN_slave_of": []string{},
		"management": management, "other_config": map[string]string{}, "disallow_unplug": false,
		"tunnel_access_PIF_of": []string{}, "tunnel_transport_PIF_of": []string{},
		"ipv6_configuration_mode": "None", "IPv6": []string{}, "ipv6_gateway": "",
		"primary_address_type": "IPv4", "managed": true, "properties": map[string]string{},
	}
}

func srRecord(name string) map[string]any {
	const gib = int64(1) << 30
	return map[string]any{
		"uuid": newUUID(), "name_label": name, "name_description": "", "allowed_operations": []string{},
		"current_operations": map[string]string{}, "virtual_allocation": int64(0),
		"physical_utilisation": 4 * gib, "physical_size": 500 * gib, "type": "lvm", "content_type": "user",
		"shared": false, "other_config": map[string]string{"i18n-key": "local-storage"}, "tags": []string{},
		"sm_config": map[string]string{"allocation": "thick"}, "blobs": map[string]string{},
		"local_cache_enabled": false, "introduced_by": NullRef, "PBDs": []string{},
	}
}

func guestMetricsRecord(networks map[string]string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "os_version": map[string]string{"distro": "ubuntu", "major": "12", "minor": "04"},
		"PV_drivers_version": map[string]string{"major": "6", "minor": "2"}, "PV_drivers_up_to_date": true,
		"memory": map[string]string{}, "disks": map[string]string{}, "networks": networks,
		"other":        map[string]string{"platform-feature-multiprocessor-suspend": "1"},
		"last_updated": now(), "other_config": map[string]string{}, "live": true,
	}
}

// vmMetricsRecord is the VM_metrics of a VM that starts now (xen-api
// ocaml/idl/datamodel_vm.ml, class VM_metrics; start_time is set by
// xapi_vm_lifecycle when the domain is created). Modelled: real xapi
// makes the record with the VM and keeps it when it halts (start_time
// then stays at the last start); the simulator makes it at start and
// removes it at halt, so a halted VM's metrics are NULL.
func vmMetricsRecord(vcpus int64, memory int64) map[string]any {
	t := now()
	return map[string]any{
		"uuid": newUUID(), "memory_actual": memory, "VCPUs_number": vcpus,
		"VCPUs_utilisation": map[string]string{}, "VCPUs_CPU": map[string]string{},
		"VCPUs_params": map[string]string{}, "VCPUs_flags": []string{}, "state": []string{},
		"start_time": t, "install_time": t, "last_updated": t,
		"other_config": map[string]string{},
	}
}

func hostRecord(name, address string, sv map[string]string) map[string]any {
	return map[string]any{
		"uuid": newUUID(), "name_label": name, "name_description": "Default install of XenServer",
		"memory_overhead": int64(0), "allowed_operations": []string{"provision", "evacuate"},
		"current_operations": map[string]string{}, "API_version_major": int64(2), "API_version_minor": int64(0),
		"API_version_vendor": "XenSource", "API_version_vendor_implementation": map[string]string{},
		"enabled": true, "software_version": sv, "other_config": map[string]string{"agent_start_time": "0."},
		"capabilities":      []string{"xen-3.0-x86_64", "xen-3.0-x86_32p", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"},
		"cpu_configuration": map[string]string{}, "sched_policy": "credit", "supported_bootloaders": []string{"pygrub", "eliloader"},
		"logging": map[string]string{}, "suspend_image_sr": NullRef, "crash_dump_sr": NullRef,
		"crashdumps": []string{}, "patches": []string{}, "PBDs": []string{}, "host_CPUs": []string{},
		"cpu_info": map[string]string{"cpu_count": "2", "vendor": "GenuineIntel"}, "hostname": name, "address": address,
		"metrics": NullRef, "license_params": map[string]string{}, "ha_statefiles": []string{},
		"ha_network_peers": []string{}, "blobs": map[string]string{}, "tags": []string{},
		"external_auth_type": "", "external_auth_service_name": "", "external_auth_configuration": map[string]string{},
		"edition": "free", "license_server": map[string]string{"address": "localhost", "port": "27000"},
		"bios_strings": map[string]string{}, "power_on_mode": "", "power_on_config": map[string]string{},
		"local_cache_sr": NullRef, "chipset_info": map[string]string{}, "PCIs": []string{}, "PGPUs": []string{},
		"guest_VCPUs_params": map[string]string{},
	}
}

func init() {
	noteFields("VM", vmRecord(""))
	noteFields("network", networkRecord("", "", true))
	noteFields("VIF", vifRecord("", "", "", ""))
	noteFields("VDI", vdiRecord("", "", 0))
	noteFields("VBD", vbdRecord("", "", "", false))
	noteFields("task", taskRecord("", ""))
	noteFields("session", sessionRecord("", "", ""))
	noteFields("pool", poolRecord("", ""))
	noteFields("PIF", pifRecord("", "", "", "", "", false))
	noteFields("SR", srRecord(""))
	noteFields("VM_guest_metrics", guestMetricsRecord(nil))
	noteFields("VM_metrics", vmMetricsRecord(0, 0))
	noteFields("host", hostRecord("", "", nil))
}
