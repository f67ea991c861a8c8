package steps

import (
	"testing"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
)

// TestOnlyUserSeesEveryReferenceVDIDestroyTakes: VDI.destroy deletes the
// VBDs of every VM on the disk and nulls another VM's suspend_VDI, so a
// disk is the VM's alone only when neither points at it.
func TestOnlyUserSeesEveryReferenceVDIDestroyTakes(t *testing.T) {
	inv := &hosts.Snapshot{
		VMs: map[xapi.Ref]xapi.VMRecord{
			"OpaqueRef:lab":   {SuspendVDI: "OpaqueRef:mem"},
			"OpaqueRef:other": {SuspendVDI: "OpaqueRef:shared-mem"},
		},
		VBDs: map[xapi.Ref]xapi.VBDRecord{
			"OpaqueRef:b1": {VM: "OpaqueRef:lab", VDI: "OpaqueRef:disk"},
			"OpaqueRef:b2": {VM: "OpaqueRef:lab", VDI: "OpaqueRef:shared"},
			"OpaqueRef:b3": {VM: "OpaqueRef:other", VDI: "OpaqueRef:shared"},
		},
	}
	for vdi, want := range map[xapi.Ref]bool{
		"OpaqueRef:disk": true, "OpaqueRef:mem": true,
		"OpaqueRef:shared": false, "OpaqueRef:shared-mem": false,
	} {
		if got := onlyUser(inv, vdi, "OpaqueRef:lab"); got != want {
			t.Errorf("onlyUser(%s) = %v, want %v", vdi, got, want)
		}
	}
}

// TestForeignDiskUsersNamesWhatARevertWouldTake: a VM that is not the
// lab's with a VBD on domU's disk, or domU's memory image as its own, is
// named; the lab's own VMs and VMs on other disks are not.
func TestForeignDiskUsersNamesWhatARevertWouldTake(t *testing.T) {
	lab := map[string]string{TagLab: "t"}
	inv := &hosts.Snapshot{
		VMs: map[xapi.Ref]xapi.VMRecord{
			"OpaqueRef:domu":   {NameLabel: "domU", OtherConfig: lab, VBDs: []xapi.Ref{"OpaqueRef:b1", "OpaqueRef:cd"}, SuspendVDI: "OpaqueRef:mem"},
			"OpaqueRef:snap":   {NameLabel: "lab's snapshot", OtherConfig: lab, VBDs: []xapi.Ref{"OpaqueRef:b2"}},
			"OpaqueRef:data":   {NameLabel: "borrows domU's disk", UUID: "u-data", VBDs: []xapi.Ref{"OpaqueRef:b3"}},
			"OpaqueRef:holder": {NameLabel: "holds domU's image", UUID: "u-mem", SuspendVDI: "OpaqueRef:mem"},
			"OpaqueRef:iso":    {NameLabel: "shares the ISO", UUID: "u-iso", VBDs: []xapi.Ref{"OpaqueRef:b4"}},
			"OpaqueRef:other":  {NameLabel: "elsewhere", UUID: "u-other", VBDs: []xapi.Ref{"OpaqueRef:b5"}},
		},
		VBDs: map[xapi.Ref]xapi.VBDRecord{
			"OpaqueRef:b1": {VM: "OpaqueRef:domu", VDI: "OpaqueRef:disk", Type: "Disk"},
			"OpaqueRef:cd": {VM: "OpaqueRef:domu", VDI: "OpaqueRef:tools-iso", Type: "CD"},
			"OpaqueRef:b2": {VM: "OpaqueRef:snap", VDI: "OpaqueRef:disk", Type: "Disk"},
			"OpaqueRef:b3": {VM: "OpaqueRef:data", VDI: "OpaqueRef:disk", Type: "Disk"},
			"OpaqueRef:b4": {VM: "OpaqueRef:iso", VDI: "OpaqueRef:tools-iso", Type: "CD"},
			"OpaqueRef:b5": {VM: "OpaqueRef:other", VDI: "OpaqueRef:their-disk", Type: "Disk"},
		},
	}
	got := foreignDiskUsers(inv, "t", "OpaqueRef:domu")
	if want := `VM "borrows domU's disk" (uuid u-data), VM "holds domU's image" (uuid u-mem)`; got != want {
		t.Fatalf("foreignDiskUsers = %q, want %q", got, want)
	}
}
