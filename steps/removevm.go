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
// caller read it; vdis are the disks that go with it, its memory image
// included (removeVMOf finds them in the inventory, liveDisks from xapi):
// only those no other VM refers to, since VDI.destroy takes other VMs'
// VBDs on it with it.
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
func removeVM(ctx context.Context, c *xapi.Client, vm xapi.Ref, rec xapi.VMRecord, vdis []xapi.Ref) error {
	if rec.PowerState != xapi.PowerHalted && !rec.IsASnapshot {
		if err := c.VMHardShutdown(ctx, vm); err != nil && !xapi.HasCode(err, "VM_BAD_POWER_STATE") && !xapi.HasCode(err, "HANDLE_INVALID") {
			return fmt.Errorf("stopping VM %q (%s): %w", rec.NameLabel, rec.UUID, err)
		}
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

// removeVMOf removes a VM of the inventory with the disks that go with it
// (ownDisks). It returns how many disks went.
func removeVMOf(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, vm xapi.Ref) (int, error) {
	vdis := ownDisks(inv, vm)
	return len(vdis), removeVM(ctx, c, vm, inv.VMs[vm], vdis)
}

// ownDisks are the disks that go with a VM of the inventory: those only it
// uses (vmDisks) and its memory image (a suspended VM's or a
// checkpoint's) when no other VM refers to it.
func ownDisks(inv *hosts.Snapshot, vm xapi.Ref) []xapi.Ref {
	vdis := vmDisks(inv, vm)
	if s := inv.VMs[vm].SuspendVDI; !s.IsNull() && onlyUser(inv, s, vm) {
		vdis = append(vdis, s)
	}
	return vdis
}

// liveDisks is vmDisks read from xapi instead of an inventory, for a VM
// made in this step (the template build's, never suspended): its record,
// and the disks of its disk VBDs that no other VM's VBD uses. A VM already gone reads as
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
