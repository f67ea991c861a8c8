package steps

import (
	"fmt"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
)

// What xapi's destroy calls take with them (xen-api, read at v26.17.0),
// and how xenlab keeps to its own objects through each:
//
//   - network.destroy (ocaml/xapi/xapi_network.ml, destroy) deletes every
//     VIF on the network that is not plugged, and refuses with
//     NETWORK_CONTAINS_VIF while one is. The networks step's Destroy
//     first reads the network's VIFs and keeps a network that carries a
//     VIF of a VM that is not the lab's (foreignVIFUsers).
//   - VM.destroy (ocaml/xapi/xapi_vm.ml and xapi_vm_helpers.ml, destroy)
//     deletes the VM's own VBDs, VIFs, VGPUs, VUSBs and VTPMs, never a VDI
//     or another VM. xenlab destroys only VMs carrying the lab's tag (or,
//     in reset, the lab's nova instances), and their devices are theirs.
//   - VDI.destroy (ocaml/xapi/xapi_vdi.ml, destroy_and_data_destroy_common)
//     deletes every VBD on the VDI, whichever VM it belongs to, and nulls
//     the suspend_VDI of any VM whose memory image it is (it refuses with
//     VDI_IN_USE only while a VBD is attached). xenlab destroys a disk or
//     a memory image only when onlyUser says no other VM refers to it.
//   - VM.revert (ocaml/xapi/xapi_vm_snapshot.ml, revert_vbds) destroys the
//     VM's disks the snapshot has a copy of, and its memory image, with
//     VDI.destroy: the revert-domU step first asks foreignDiskUsers.

// onlyUser reports whether no VM but vm refers to vdi: no other VM's VBD
// is on it and no other VM has it as its memory image (suspend_VDI), so
// VDI.destroy takes nothing of another VM's with it.
func onlyUser(inv *hosts.Snapshot, vdi, vm xapi.Ref) bool {
	for _, b := range inv.VBDs {
		if b.VDI == vdi && b.VM != vm {
			return false
		}
	}
	for r, rec := range inv.VMs {
		if r != vm && rec.SuspendVDI == vdi {
			return false
		}
	}
	return true
}

// foreignDiskUsers describes the VMs that are not this lab's and refer to
// a disk or the memory image of vm (a VBD on it, or it as their
// suspend_VDI), joined by ", " ("" when none): what a VDI.destroy of
// those would take from them.
func foreignDiskUsers(inv *hosts.Snapshot, lab string, vm xapi.Ref) string {
	mine := map[xapi.Ref]bool{}
	for _, b := range inv.VMs[vm].VBDs {
		if vbd, ok := inv.VBDs[b]; ok && vbd.Type == "Disk" && !vbd.VDI.IsNull() {
			mine[vbd.VDI] = true
		}
	}
	if s := inv.VMs[vm].SuspendVDI; !s.IsNull() {
		mine[s] = true
	}
	var out []string
	for _, r := range sortedRefs(inv.VMs) {
		rec := inv.VMs[r]
		if r == vm || owned(lab, rec.OtherConfig) {
			continue
		}
		uses := mine[rec.SuspendVDI]
		for _, b := range rec.VBDs {
			uses = uses || mine[inv.VBDs[b].VDI]
		}
		if uses {
			out = append(out, fmt.Sprintf("VM %q (uuid %s)", rec.NameLabel, rec.UUID))
		}
	}
	return strings.Join(out, ", ")
}
