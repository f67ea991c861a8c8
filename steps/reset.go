package steps

import (
	"context"
	"errors"
	"fmt"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// NovaUUIDKey is the other_config key nova's XenAPI driver sets on every VM
// it creates (nova/virt/xenapi/vm_utils.py create_vm: other_config
// {'nova_uuid': instance uuid}).
const NovaUUIDKey = "nova_uuid"

// Reset returns the steps of `xenlab reset` for one host: remove the VMs
// the lab's OpenStack made since the snapshot, revert domU to the clean
// snapshot and bring it back, put the placeholder back on VLAN 4095, and
// verify the lab.
func Reset(lab *localrc.Config, host *hosts.Host) []provision.Node {
	on := host.Name()
	return []provision.Node{
		{Step: &novaInstances{host: host, lab: lab}, Host: on},
		{Step: &revertDomU{host: host, lab: lab}, Host: on},
		{Step: after{Step: &placeholder{host: host, lab: lab}, deps: []string{"revert-domU"}}, Host: on},
		{Step: after{Step: &verify{host: host, lab: lab}, deps: []string{"bridge-placeholder"}}, Host: on, ReadOnly: true},
	}
}

// after is a step of another graph given other dependencies.
type after struct {
	provision.Step
	deps []string
}

func (a after) Deps() []string { return a.deps }

// Destroy: a reset has nothing to undo.
func (a after) Destroy(context.Context, provision.Output) error { return nil }

// novaInstances removes the VMs nova's XenAPI driver made for the lab's
// OpenStack: a VM is one when its other_config has nova's nova_uuid and
// one of its VIFs is on this lab's integration network (nova plugs every
// instance there: xenapi_ovs_integration_bridge). Nothing else is touched:
// not another lab's instances, not a VM of the user's own.
type novaInstances struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (n *novaInstances) Name() string   { return "nova-instances" }
func (n *novaInstances) Deps() []string { return nil }

// novaVMs returns the lab's OpenStack instances, sorted by reference.
func novaVMs(inv *hosts.Snapshot, lab *localrc.Config) ([]xapi.Ref, error) {
	intNet, _, err := viewOf(inv, lab).integrationBridge()
	if err != nil {
		return nil, err
	}
	var out []xapi.Ref
	for _, r := range sortedRefs(inv.VMs) {
		rec := inv.VMs[r]
		if rec.IsATemplate || rec.IsASnapshot || rec.IsControlDomain || rec.OtherConfig[NovaUUIDKey] == "" ||
			owned(lab.Lab, rec.OtherConfig) {
			continue
		}
		for _, v := range rec.VIFs {
			if inv.VIFs[v].Network == intNet {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

func (n *novaInstances) Check(ctx context.Context) (bool, error) {
	inv, err := n.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	vms, err := novaVMs(inv, n.lab)
	return err == nil && len(vms) == 0, err
}

func (n *novaInstances) Apply(ctx context.Context, out provision.Output) error {
	inv, err := n.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vms, err := novaVMs(inv, n.lab)
	if err != nil {
		return err
	}
	c, err := n.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer n.host.Changed()
	for _, vm := range vms {
		rec := inv.VMs[vm]
		n, err := removeVMOf(ctx, c, inv, vm)
		if err != nil {
			return err
		}
		out.Line("destroyed nova's instance %q (%s, nova_uuid %s) and %d disk(s)", rec.NameLabel, rec.UUID,
			rec.OtherConfig[NovaUUIDKey], n)
	}
	return nil
}

// Destroy: a reset has nothing to undo.
func (n *novaInstances) Destroy(context.Context, provision.Output) error { return nil }

// revertDomU reverts domU to the lab's clean snapshot and brings it back:
// VM.resume after a checkpoint (the stack runs on where it was), else
// VM.start and devstack's rejoin-stack.sh.
type revertDomU struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (r *revertDomU) Name() string   { return "revert-domU" }
func (r *revertDomU) Deps() []string { return []string{"nova-instances"} }

// Check: a reset always reverts.
func (r *revertDomU) Check(context.Context) (bool, error) { return false, nil }

// ErrNoSnapshot is the reset of a lab that has no clean snapshot.
var ErrNoSnapshot = errors.New("domU has no clean snapshot to revert to; `xenlab up` takes it (step snapshot)")

func (r *revertDomU) Apply(ctx context.Context, out provision.Output) error {
	inv, err := r.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vm := viewOf(inv, r.lab).domU()
	if vm == "" {
		return errors.New("domU does not exist; `xenlab up` makes it")
	}
	var snap xapi.Ref
	for _, sr := range labSnapshots(inv, r.lab.Lab, vm) {
		if inv.VMs[sr].OtherConfig[TagRole] == RoleSnapshot {
			snap = sr // the snapshot step leaves one
		}
	}
	if snap == "" {
		return ErrNoSnapshot
	}
	c, err := r.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer r.host.Changed()
	if users := foreignDiskUsers(inv, r.lab.Lab, vm); users != "" { // steps/cascade.go
		return fmt.Errorf("domU's disks are in use by %s, not the lab's: xapi's VM.revert destroys domU's disks, "+
			"and with them those VMs' VBDs; detach them (xe vbd-destroy), then reset again", users)
	}
	// xapi's VM.revert gives domU its record as it was when the snapshot
	// was taken (xen-api ocaml/xapi/xapi_vm_snapshot.ml revert_vm_fields
	// copies the snapshot's snapshot_metadata, which xapi_vm_clone.ml
	// snapshot_metadata wrote from domU then: XS62 lines 377 and 174):
	// its name, role domu and the stack.sh run the snapshot is of. A run
	// killed from here on leaves domU Suspended (or Halted) with those
	// tags: reset again reverts again, and up resumes (or starts) it.
	if err := c.VMRevert(ctx, snap); err != nil {
		return err
	}
	r.host.Changed()
	out.Line("reverted %q to %q", inv.VMs[vm].NameLabel, inv.VMs[snap].NameLabel)
	ps, err := c.VMGetPowerState(ctx, vm)
	if err != nil {
		return err
	}
	booted := false
	switch ps {
	case xapi.PowerSuspended:
		if err := c.VMResume(ctx, vm, false, false); err != nil {
			return err
		}
		out.Line("resumed domU from the checkpoint's memory")
	case xapi.PowerHalted:
		if err := c.VMStart(ctx, vm, false, false); err != nil {
			return err
		}
		booted = true
		out.Line("started domU from the snapshot's disks")
	default:
		return fmt.Errorf("domU is %s after the revert; xenlab expects Suspended or Halted", ps)
	}
	return backUp(ctx, r.host, r.lab, vm, booted, out)
}

// Destroy: a reset has nothing to undo.
func (r *revertDomU) Destroy(context.Context, provision.Output) error { return nil }
