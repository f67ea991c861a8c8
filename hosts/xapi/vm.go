package xapi

import (
	"context"
	"fmt"
)

// VMGetByNameLabel returns the VMs (templates and snapshots included) with
// that exact name label.
func (c *Client) VMGetByNameLabel(ctx context.Context, name string) ([]Ref, error) {
	return c.callRefs(ctx, "VM.get_by_name_label", name)
}

// VMGetAllRecords returns every VM record by reference, dom0, templates and
// snapshots included.
func (c *Client) VMGetAllRecords(ctx context.Context) (map[Ref]VMRecord, error) {
	return getAllRecords[VMRecord](ctx, c, "VM")
}

// VMGetRecord returns a VM record.
func (c *Client) VMGetRecord(ctx context.Context, vm Ref) (VMRecord, error) {
	return getRecord[VMRecord](ctx, c, "VM", vm)
}

// VMClone clones a halted VM or a template (fast, copy-on-write disks).
func (c *Client) VMClone(ctx context.Context, vm Ref, newName string) (Ref, error) {
	return c.callRef(ctx, "VM.clone", vm, newName)
}

// VMCopy copies a halted VM or template with full disk copies into sr
// (NullRef: the disks' own SRs).
func (c *Client) VMCopy(ctx context.Context, vm Ref, newName string, sr Ref) (Ref, error) {
	if sr == "" {
		sr = NullRef
	}
	return c.callRef(ctx, "VM.copy", vm, newName, sr)
}

// VMProvision creates the disks a template's other_config:disks asks for.
func (c *Client) VMProvision(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.provision", vm)
}

// VMStart boots a halted VM.
func (c *Client) VMStart(ctx context.Context, vm Ref, paused, force bool) error {
	return c.callVoid(ctx, "VM.start", vm, paused, force)
}

// VMCleanShutdown asks a running VM's guest to shut down and waits for it.
func (c *Client) VMCleanShutdown(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.clean_shutdown", vm)
}

// VMHardShutdown stops a VM at once.
func (c *Client) VMHardShutdown(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.hard_shutdown", vm)
}

// VMDestroy removes a halted VM record with its VIFs and VBDs (not its
// VDIs).
func (c *Client) VMDestroy(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.destroy", vm)
}

// VMSnapshot takes a snapshot of a VM and returns it.
func (c *Client) VMSnapshot(ctx context.Context, vm Ref, newName string) (Ref, error) {
	return c.callRef(ctx, "VM.snapshot", vm, newName)
}

// VMCheckpoint takes a snapshot of a VM with its memory: a running VM is
// suspended, snapshotted and resumed (in a new domain), and the snapshot
// is Suspended with a suspend VDI. xapi allows it on a paused, suspended
// or running VM whose allowed_operations lists checkpoint.
func (c *Client) VMCheckpoint(ctx context.Context, vm Ref, newName string) (Ref, error) {
	return c.callRef(ctx, "VM.checkpoint", vm, newName)
}

// VMSuspend suspends a running VM to a suspend VDI.
func (c *Client) VMSuspend(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.suspend", vm)
}

// VMResume resumes a suspended VM (in a new domain: new domid).
func (c *Client) VMResume(ctx context.Context, vm Ref, paused, force bool) error {
	return c.callVoid(ctx, "VM.resume", vm, paused, force)
}

// VMRevert reverts the VM a snapshot was taken of to that snapshot: the
// VM is Halted afterwards, or Suspended when the snapshot is a checkpoint.
func (c *Client) VMRevert(ctx context.Context, snapshot Ref) error {
	return c.callVoid(ctx, "VM.revert", snapshot)
}

// VMGetPowerState returns Halted, Paused, Running or Suspended (or a state
// newer than this code, as xapi sends it).
func (c *Client) VMGetPowerState(ctx context.Context, vm Ref) (string, error) {
	return c.callString(ctx, "VM.get_power_state", vm)
}

// VMGetDomid returns the VM's domain id (-1 when it is not running).
func (c *Client) VMGetDomid(ctx context.Context, vm Ref) (int64, error) {
	return c.callInt(ctx, "VM.get_domid", vm)
}

// VMGetVIFs returns the VM's VIFs.
func (c *Client) VMGetVIFs(ctx context.Context, vm Ref) ([]Ref, error) {
	return c.callRefs(ctx, "VM.get_VIFs", vm)
}

// VMGetOtherConfig returns the VM's other_config.
func (c *Client) VMGetOtherConfig(ctx context.Context, vm Ref) (map[string]string, error) {
	return c.callStringMap(ctx, "VM.get_other_config", vm)
}

// VMAddToOtherConfig adds key=value to other_config; xapi refuses an
// existing key with MAP_DUPLICATE_KEY.
func (c *Client) VMAddToOtherConfig(ctx context.Context, vm Ref, key, value string) error {
	return c.callVoid(ctx, "VM.add_to_other_config", vm, key, value)
}

// VMRemoveFromOtherConfig removes key from other_config.
func (c *Client) VMRemoveFromOtherConfig(ctx context.Context, vm Ref, key string) error {
	return c.callVoid(ctx, "VM.remove_from_other_config", vm, key)
}

// VMSetPVArgs sets the kernel command line of a PV guest.
func (c *Client) VMSetPVArgs(ctx context.Context, vm Ref, args string) error {
	return c.callVoid(ctx, "VM.set_PV_args", vm, args)
}

// VMSetNameLabel renames a VM.
func (c *Client) VMSetNameLabel(ctx context.Context, vm Ref, name string) error {
	return c.callVoid(ctx, "VM.set_name_label", vm, name)
}

// VMSetIsATemplate turns a halted VM into a template, or back.
func (c *Client) VMSetIsATemplate(ctx context.Context, vm Ref, template bool) error {
	return c.callVoid(ctx, "VM.set_is_a_template", vm, template)
}

// VMSetMemoryLimits sets the four memory bounds, in bytes; xapi requires
// staticMin <= dynamicMin <= dynamicMax <= staticMax.
func (c *Client) VMSetMemoryLimits(ctx context.Context, vm Ref, staticMin, staticMax, dynamicMin, dynamicMax int64) error {
	return c.callVoid(ctx, "VM.set_memory_limits", vm, staticMin, staticMax, dynamicMin, dynamicMax)
}

// VMSetVCPUs sets VCPUs_max and then VCPUs_at_startup to n on a halted VM
// (in the order xapi needs when raising them: at_startup <= max).
func (c *Client) VMSetVCPUs(ctx context.Context, vm Ref, n int64) error {
	rec, err := c.VMGetRecord(ctx, vm)
	if err != nil {
		return err
	}
	if n >= rec.VCPUsMax {
		if err := c.VMSetVCPUsMax(ctx, vm, n); err != nil {
			return err
		}
		return c.VMSetVCPUsAtStartup(ctx, vm, n)
	}
	if err := c.VMSetVCPUsAtStartup(ctx, vm, n); err != nil {
		return err
	}
	return c.VMSetVCPUsMax(ctx, vm, n)
}

// VMSetVCPUsMax sets VCPUs_max.
func (c *Client) VMSetVCPUsMax(ctx context.Context, vm Ref, n int64) error {
	return c.callVoid(ctx, "VM.set_VCPUs_max", vm, n)
}

// VMSetVCPUsAtStartup sets VCPUs_at_startup.
func (c *Client) VMSetVCPUsAtStartup(ctx context.Context, vm Ref, n int64) error {
	return c.callVoid(ctx, "VM.set_VCPUs_at_startup", vm, n)
}

// VMGetGuestMetrics returns the VM's guest metrics object (NullRef until
// the guest agent has reported).
func (c *Client) VMGetGuestMetrics(ctx context.Context, vm Ref) (Ref, error) {
	return c.callRef(ctx, "VM.get_guest_metrics", vm)
}

// GuestMetricsGetNetworks returns VM_guest_metrics.networks, such as
// {"0/ip": "192.168.1.20"}.
func (c *Client) GuestMetricsGetNetworks(ctx context.Context, metrics Ref) (map[string]string, error) {
	return c.callStringMap(ctx, "VM_guest_metrics.get_networks", metrics)
}

// GuestMetricsGetRecord returns a VM_guest_metrics record.
func (c *Client) GuestMetricsGetRecord(ctx context.Context, metrics Ref) (GuestMetricsRecord, error) {
	return getRecord[GuestMetricsRecord](ctx, c, "VM_guest_metrics", metrics)
}

// WaitGuestIP waits, on VM and guest-metrics events rather than sleeps,
// until the VM's guest reports an address for its VIF device ("0" for
// eth0) in VM_guest_metrics.networks ("0/ip"), and returns it. It
// subscribes to this VM's events and to guest metrics (whose reference the
// VM's guest_metrics names only later), reads both from the events'
// snapshots, and so costs only the event.from calls.
func (c *Client) WaitGuestIP(ctx context.Context, vm Ref, device string) (string, error) {
	key := device + "/ip"
	// event.from("") lists the VM if it exists; read its guest metrics
	// anyway when it does not, so a missing VM fails with xapi's own
	// HANDLE_INVALID. The wait needs no more of the record than that.
	first := func(ctx context.Context) (VMRecord, error) {
		gm, err := c.VMGetGuestMetrics(ctx, vm)
		return VMRecord{GuestMetrics: gm}, err
	}
	nets, err := c.watchGuest(ctx, vm, first, func(_ VMRecord, nets map[string]string) bool { return nets[key] != "" })
	if err != nil {
		return "", fmt.Errorf("xapi: waiting for %s of VM %s: %w", key, vm, err)
	}
	return nets[key], nil
}
