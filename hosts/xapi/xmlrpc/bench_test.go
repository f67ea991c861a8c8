package xmlrpc

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// vmRecordsReply is a VM.get_all_records reply for n VMs, each record
// shaped as xapi 6.2's (ocaml/idl/datamodel.ml's VM fields: 67 of them,
// strings, int64s as strings, booleans, a date, maps and arrays of
// references), encoded as xapi encodes it (MarshalResponse).
func vmRecordsReply(n int) []byte {
	recs := map[string]any{}
	for i := range n {
		ref := func(kind string, j int) string {
			return fmt.Sprintf("OpaqueRef:%s-%08d-%04d-4e8e-9d6a-0c0f0f3a1b2c", kind, i, j)
		}
		rec := map[string]any{
			"uuid": fmt.Sprintf("%08x-3f0a-4e8e-9d6a-0c0f0f3a1b2c", i), "allowed_operations": []any{"changing_dynamic_range", "changing_shadow_memory", "pause", "clean_reboot", "clean_shutdown", "hard_reboot", "hard_shutdown", "suspend", "snapshot", "checkpoint"},
			"current_operations": map[string]any{}, "power_state": "Running", "name_label": fmt.Sprintf("vm-%d", i), "name_description": "a virtual machine of the benchmark",
			"user_version": "1", "is_a_template": false, "suspend_VDI": "OpaqueRef:NULL", "resident_on": ref("host", 0), "affinity": ref("host", 0),
			"memory_overhead": "41943040", "memory_target": "4294967296", "memory_static_max": "4294967296", "memory_dynamic_max": "4294967296", "memory_dynamic_min": "4294967296", "memory_static_min": "268435456",
			"VCPUs_params": map[string]any{"weight": "256"}, "VCPUs_max": "2", "VCPUs_at_startup": "2", "actions_after_shutdown": "destroy", "actions_after_reboot": "restart", "actions_after_crash": "restart",
			"consoles": []any{ref("console", 0)}, "VIFs": []any{ref("VIF", 0), ref("VIF", 1), ref("VIF", 2)}, "VBDs": []any{ref("VBD", 0), ref("VBD", 1)}, "crash_dumps": []any{}, "VTPMs": []any{},
			"PV_bootloader": "pygrub", "PV_kernel": "", "PV_ramdisk": "", "PV_args": "console=hvc0 flat_network_bridge=xapi1", "PV_bootloader_args": "", "PV_legacy_args": "",
			"HVM_boot_policy": "", "HVM_boot_params": map[string]any{}, "HVM_shadow_multiplier": 1.0, "platform": map[string]any{"nx": "true", "acpi": "true", "apic": "true", "pae": "true", "viridian": "true"},
			"PCI_bus": "", "other_config": map[string]any{"xenlab-lab": "lab", "install-methods": "cdrom,nfs,http,ftp", "linux_template": "true", "mac_seed": "d6f3c2f0-1b1e-2f7a-9a0c-5d4b3a2c1e0f"},
			"domid": fmt.Sprint(i + 1), "domarch": "x64", "last_boot_CPU_flags": map[string]any{"vendor": "GenuineIntel", "features": "77fefbff-bfebfbff-00000001-2c100800"},
			"is_control_domain": false, "metrics": ref("VM_metrics", 0), "guest_metrics": ref("VM_guest_metrics", 0), "last_booted_record": "", "recommendations": `<restrictions><restriction field="memory-static-max" max="137438953472"/></restrictions>`,
			"xenstore_data": map[string]any{"vm-data": ""}, "ha_always_run": false, "ha_restart_priority": "", "is_a_snapshot": false, "snapshot_of": "OpaqueRef:NULL", "snapshots": []any{},
			"snapshot_time": time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "transportable_snapshot_id": "", "blobs": map[string]any{}, "tags": []any{}, "blocked_operations": map[string]any{},
			"snapshot_info": map[string]any{}, "snapshot_metadata": "", "parent": "OpaqueRef:NULL", "children": []any{}, "bios_strings": map[string]any{}, "protection_policy": "OpaqueRef:NULL",
			"is_snapshot_from_vmpp": false, "appliance": "OpaqueRef:NULL", "start_delay": "0", "shutdown_delay": "0", "order": "0", "VGPUs": []any{}, "attached_PCIs": []any{}, "suspend_SR": "OpaqueRef:NULL", "version": "0",
		}
		recs[ref("VM", 0)] = rec
	}
	data, err := MarshalResponse(map[string]any{"Status": "Success", "Value": recs})
	if err != nil {
		panic(err)
	}
	return data
}

// BenchmarkDecodeVMRecords decodes VM.get_all_records for 1,000 VMs with
// the decoder and with the reference built on encoding/xml
// (reference_test.go); "stream" reads it from a reader, as the client
// does.
func BenchmarkDecodeVMRecords(b *testing.B) {
	data := vmRecordsReply(1000)
	for _, d := range []struct {
		name   string
		decode func([]byte) (any, error)
	}{
		{"reference", refUnmarshalResponse},
		{"decoder", UnmarshalResponse},
		{"stream", func(data []byte) (any, error) { return DecodeResponse(bytes.NewReader(data), int64(len(data))) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSmall decodes a reply of a few fields (VM.get_record of
// a small record, what most of a bring-up's calls get back).
func BenchmarkDecodeSmall(b *testing.B) {
	data, err := MarshalResponse(map[string]any{"Status": "Success", "Value": map[string]any{"uuid": "u", "power_state": "Running", "VIFs": []any{"OpaqueRef:a"}, "other_config": map[string]any{"k": "v"}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name   string
		decode func([]byte) (any, error)
	}{{"reference", refUnmarshalResponse}, {"decoder", UnmarshalResponse}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestVMRecordsDecodersAgree: the benchmark's reply decodes to the same
// value with both decoders (and is the size a real one is).
func TestVMRecordsDecodersAgree(t *testing.T) {
	data := vmRecordsReply(1000)
	want, err1 := refUnmarshalResponse(data)
	got, err2 := UnmarshalResponse(data)
	if err1 != nil || !sameOutcome(want, err1, got, err2) {
		t.Fatalf("decoders disagree: %v / %v", err1, err2)
	}
	t.Logf("%d VMs: %d bytes", 1000, len(data))
}

// BenchmarkDecodeOneVMRecord decodes one VM's record (the reply of
// VM.get_all_records for one VM, 7 KB: what a VM.get_record of a real VM
// brings).
func BenchmarkDecodeOneVMRecord(b *testing.B) {
	data := vmRecordsReply(1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponse(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
