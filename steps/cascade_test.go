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
