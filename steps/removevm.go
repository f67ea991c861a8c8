package steps

import (
	"context"
	"fmt"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
)

// removeVM is the one way xenlab removes a VM with its disks: domU and its
// snapshots (down), nova's instances (reset), the template build's
// intermediate VMs and the cached template. rec is the VM's record as the
// caller read it; disks are the VDIs that go with it (vmDisks from the
// inventory, liveDisks from xapi), to which its suspend image is added.
//
// The order is the same for all: a VM that runs is stopped (hard: nothing
// in it is worth a clean shutdown; a snapshot or checkpoint is never
// running, though a checkpoint is Suspended), then its disks go, then the
// VM. Disks first, because every VM xenlab removes carries the lab's tag:
// if the run stops between the two, the tagged VM is still there for the
// next run to find and finish, where untagged disks would be lost to it.
// xapi's VM.destroy leaves the VDIs (xen-api ocaml/xapi/xapi_vm.ml destroy
// removes the VBD records only).
//
// Tolerated, and only these: HANDLE_INVALID (the VM or disk is gone
// already: an earlier, interrupted run removed it) and, when stopping it,
// VM_BAD_POWER_STATE (it stopped on its own meanwhile).
func removeVM(ctx context.Context, c *xapi.Client, vm xapi.Ref, rec xapi.VMRecord, disks []xapi.Ref) error {
	if rec.PowerState != xapi.PowerHalted && !rec.IsASnapshot {
		if err := c.VMHardShutdown(ctx, vm); err != nil && !xapi.HasCode(err, "VM_BAD_POWER_STATE") && !xapi.HasCode(err, "HANDLE_INVALID") {
			return fmt.Errorf("stopping VM %q (%s): %w", rec.NameLabel, rec.UUID, err)
		}
	}
	vdis := disks
	if !rec.SuspendVDI.IsNull() { // a suspended VM's or a checkpoint's memory image
		vdis = append(append([]xapi.Ref(nil), disks...), rec.SuspendVDI)
	}
	for _, vdi := range vdis {
		if err := c.VDIDestroy(ctx, vdi); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
			return fmt.Errorf("removing disk %s of VM %q (%s): %w", vdi, rec.NameLabel, rec.UUID, err)
		}
	}
	if err := c.VMDestroy(ctx, vm); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
		return fmt.Errorf("removing VM %q (%s): %w", rec.NameLabel, rec.UUID, err)
	}
	return nil
}

// removeVMOf removes a VM of the inventory with the disks only it uses.
// It returns how many disks went.
func removeVMOf(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, vm xapi.Ref) (int, error) {
	rec := inv.VMs[vm]
	disks := vmDisks(inv, vm)
	n := len(disks)
	if !rec.SuspendVDI.IsNull() {
		n++
	}
	return n, removeVM(ctx, c, vm, rec, disks)
}

// vmDisks returns the VDIs of a VM's disk VBDs that no other VM uses (not
// a CD's image, not a disk shared with another VM).
func vmDisks(inv *hosts.Snapshot, vm xapi.Ref) []xapi.Ref {
	var vdis []xapi.Ref
	for _, b := range inv.VMs[vm].VBDs {
		if vbd, ok := inv.VBDs[b]; ok && vbd.Type == "Disk" && !vbd.VDI.IsNull() && onlyUser(inv, vbd.VDI, vm) {
			vdis = append(vdis, vbd.VDI)
		}
	}
	return vdis
}

// onlyUser reports whether no VM but vm has a VBD on vdi.
func onlyUser(inv *hosts.Snapshot, vdi, vm xapi.Ref) bool {
	for _, b := range inv.VBDs {
		if b.VDI == vdi && b.VM != vm {
			return false
		}
	}
	return true
}

// liveDisks is vmDisks read from xapi instead of an inventory, for a VM
// made in this step (the template build's): its record, and the disks of
// its disk VBDs that no other VM's VBD uses. A VM already gone reads as
// HANDLE_INVALID, which the caller treats as removed.
func liveDisks(ctx context.Context, c *xapi.Client, vm xapi.Ref) (xapi.VMRecord, []xapi.Ref, error) {
	rec, err := c.VMGetRecord(ctx, vm)
	if err != nil {
		return rec, nil, err
	}
	var out []xapi.Ref
	for _, b := range rec.VBDs {
		vbd, err := c.VBDGetRecord(ctx, b)
		if err != nil || vbd.Type != "Disk" || vbd.VDI.IsNull() {
			continue
		}
		vdi, err := c.VDIGetRecord(ctx, vbd.VDI)
		if err != nil {
			continue
		}
		shared := false
		for _, other := range vdi.VBDs {
			shared = shared || other != b
		}
		if !shared {
			out = append(out, vbd.VDI)
		}
	}
	return rec, out, nil
}
