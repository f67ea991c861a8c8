package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// RoleSnapshot marks the lab's clean post-install snapshot of domU.
const RoleSnapshot = "snapshot"

// TagStackRun, in a snapshot's other_config, names the stack.sh run domU
// was on when it was taken (the first line of the wrapper's marker, which
// holds the time stack.sh ended): after stack.sh ran again (the lab file
// changed what the agents step writes), the snapshot is not the lab's
// clean state any more and is taken again.
const TagStackRun = "xenlab-stack-run"

// snapshot takes one clean snapshot of domU once the lab is up and
// verified, for `xenlab reset` to go back to: VM.checkpoint (memory
// included, so reset resumes a running stack) where domU's
// allowed_operations lists checkpoint, else a disk snapshot of the cleanly
// shut down domU, which is started again (and devstack's rejoin-stack.sh
// run). The snapshot carries the lab's tag with role snapshot; a new one
// replaces the old, which is destroyed with its disks and memory image, so
// they never pile up (devstack's before_first_boot snapshots did). A
// snapshot of an earlier stack.sh run (TagStackRun) is replaced too.
type snapshot struct {
	host  *hosts.Host
	lab   *localrc.Config
	views *Views // verify's views, dropped for this host when domU moves to a new domain
}

func (s *snapshot) Name() string   { return "snapshot" }
func (s *snapshot) Deps() []string { return []string{"verify"} }

// labSnapshots returns the lab's snapshots of domU vm (any, when vm is ""),
// sorted by reference: those tagged with role snapshot and, so that an
// interrupted step leaves none behind, those a killed run left with
// domU's own tags (taken, not yet retagged: xapi's VM.checkpoint and
// VM.snapshot copy the VM's other_config, xen-api
// ocaml/xapi/xapi_vm_clone.ml copy_vm_record) or with no role (killed
// between retag's removal and its addition). The template build's
// snapshots carry role template.
func labSnapshots(inv *hosts.Snapshot, lab string, vm xapi.Ref) []xapi.Ref {
	var out []xapi.Ref
	for _, r := range ownedVMs(inv, lab, "") {
		rec := inv.VMs[r]
		if role := rec.OtherConfig[TagRole]; rec.IsASnapshot && (role == RoleSnapshot || role == RoleDomU || role == "") &&
			(vm == "" || rec.SnapshotOf == vm) {
			out = append(out, r)
		}
	}
	return out
}

// unfinished returns the snapshot of domU vm a killed run of this step
// took but did not retag, when it is of the stack.sh run domU is on now
// (run): before taking it the step gives domU that run in TagStackRun,
// which the snapshot copies. It is the clean snapshot; only its role is
// left to set.
//
// It is of the kind the step takes: a checkpoint (Suspended: xapi's
// checkpoint of a running VM keeps its memory image) where domU allows
// one, else a disk snapshot (Halted).
func unfinished(inv *hosts.Snapshot, lab string, vm xapi.Ref, run string) xapi.Ref {
	if run == "" {
		return ""
	}
	kind := xapi.PowerHalted
	if slices.Contains(inv.VMs[vm].AllowedOperations, "checkpoint") {
		kind = xapi.PowerSuspended
	}
	for _, r := range labSnapshots(inv, lab, vm) {
		rec := inv.VMs[r]
		if oc := rec.OtherConfig; oc[TagRole] != RoleSnapshot && oc[TagStackRun] == run && rec.PowerState == kind {
			return r
		}
	}
	return ""
}

// snapshotName is the clean snapshot's name label.
func (s *snapshot) snapshotName() string { return s.lab.DomU.Name + " clean (xenlab)" }

// Check: done when domU has exactly one snapshot of the lab's, of the
// stack.sh run domU is on, and no other snapshot of the lab's is left (of
// an earlier domU).
func (s *snapshot) Check(ctx context.Context) (bool, error) {
	inv, err := s.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	v := viewOf(inv, s.lab)
	vm := v.domU()
	if vm == "" {
		return false, nil
	}
	snaps := labSnapshots(inv, s.lab.Lab, vm)
	if len(snaps) != 1 || len(labSnapshots(inv, s.lab.Lab, "")) != 1 {
		return false, nil
	}
	oc := inv.VMs[snaps[0]].OtherConfig
	if oc[TagRole] != RoleSnapshot {
		return false, nil
	}
	// The stack.sh run domU is on, read from domU; when domU does not run
	// (the boot step will start it) the snapshot is judged by itself: a
	// boot or a rejoin keeps the run. A running domU that cannot be read
	// is an error, not a clean snapshot.
	run, err := StackRun(ctx, s.host, v)
	if err != nil {
		return false, err
	}
	return run == "" || oc[TagStackRun] == run, nil
}

func (s *snapshot) Apply(ctx context.Context, out provision.Output) error {
	inv, err := s.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vm := viewOf(inv, s.lab).domU()
	if vm == "" {
		return errors.New("domU does not exist (step domU)")
	}
	rec := inv.VMs[vm]
	if rec.PowerState != xapi.PowerRunning {
		return fmt.Errorf("domU %q is %s; the clean snapshot is taken of the running, verified lab", rec.NameLabel, rec.PowerState)
	}
	old := labSnapshots(inv, s.lab.Lab, "")
	run, err := StackRun(ctx, s.host, viewOf(inv, s.lab)) // before domU moves to a new domain
	if err != nil {
		return err
	}
	c, err := s.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer s.host.Changed()
	if snap := unfinished(inv, s.lab.Lab, vm, run); snap != "" {
		// A run killed after its VM.checkpoint: the checkpoint is of this
		// verified lab's stack.sh run, and domU runs on since.
		if err := retag(ctx, c, snap, RoleSnapshot); err != nil {
			return err
		}
		out.Line("%q (%s), taken by a run killed before it tagged it, is the clean snapshot", inv.VMs[snap].NameLabel, inv.VMs[snap].UUID)
		return s.destroyOld(ctx, c, inv, old, snap, out)
	}
	// domU carries the stack.sh run it is on (none when no stack.sh
	// finished), which the snapshot copies with the rest of domU's
	// other_config (and a revert gives back).
	if had := rec.OtherConfig[TagStackRun]; had != run {
		if err := c.VMRemoveFromOtherConfig(ctx, vm, TagStackRun); err != nil {
			return err
		}
		if run != "" {
			if err := c.VMAddToOtherConfig(ctx, vm, TagStackRun, run); err != nil {
				return err
			}
		}
	}
	s.views.drop(s.host.Name()) // domU moves to a new domain: verify's view is stale
	var snap xapi.Ref
	if slices.Contains(rec.AllowedOperations, "checkpoint") {
		if snap, err = c.VMCheckpoint(ctx, vm, s.snapshotName()); err != nil {
			return err
		}
		out.Line("checkpoint %q of %q (disks and memory); domU resumed", s.snapshotName(), rec.NameLabel)
	} else {
		out.Line("domU's allowed_operations has no checkpoint: disk snapshot of the cleanly shut down domU")
		if err := c.VMCleanShutdown(ctx, vm); err != nil {
			return err
		}
		if snap, err = c.VMSnapshot(ctx, vm, s.snapshotName()); err != nil {
			return err
		}
		if err := c.VMStart(ctx, vm, false, false); err != nil {
			return err
		}
		out.Line("disk snapshot %q of %q; domU started again", s.snapshotName(), rec.NameLabel)
	}
	// The snapshot copies domU's other_config: the lab's tag, role domU,
	// and the stack.sh run.
	if err := retag(ctx, c, snap, RoleSnapshot); err != nil {
		return err
	}
	if err := s.destroyOld(ctx, c, inv, old, snap, out); err != nil {
		return err
	}
	// domU runs in a new domain either way: wait for it, bring its agents
	// back after a boot, and put the placeholder's new port on 4095.
	if err := backUp(ctx, s.host, s.lab, vm, !slices.Contains(rec.AllowedOperations, "checkpoint"), out); err != nil {
		return err
	}
	if s.lab.Networks.IntegrationBridge == localrc.BridgeAttach {
		return nil
	}
	return (&placeholder{host: s.host, lab: s.lab}).Apply(ctx, out)
}

// destroyOld removes the lab's snapshots in old but keep, with their disks.
func (s *snapshot) destroyOld(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, old []xapi.Ref, keep xapi.Ref, out provision.Output) error {
	for _, r := range old {
		if r == keep {
			continue
		}
		if err := destroySnapshot(ctx, c, inv, r); err != nil {
			return err
		}
		out.Line("destroyed the earlier snapshot %q (%s) and its disks", inv.VMs[r].NameLabel, inv.VMs[r].UUID)
	}
	return nil
}

// retag gives a VM the role in the lab's tag.
func retag(ctx context.Context, c *xapi.Client, vm xapi.Ref, role string) error {
	if err := c.VMRemoveFromOtherConfig(ctx, vm, TagRole); err != nil {
		return err
	}
	return c.VMAddToOtherConfig(ctx, vm, TagRole, role)
}

// destroySnapshot removes a snapshot with its disks (those only it uses)
// and its memory image (removeVM).
func destroySnapshot(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, snap xapi.Ref) error {
	_, err := removeVMOf(ctx, c, inv, snap)
	return err
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

// Destroy removes the lab's snapshots with their disks and memory images
// (before domU's Destroy, which depends on it).
func (s *snapshot) Destroy(ctx context.Context, out provision.Output) error {
	inv, err := s.host.Inventory(ctx)
	if err != nil {
		return err
	}
	snaps := labSnapshots(inv, s.lab.Lab, "")
	if len(snaps) == 0 {
		return nil
	}
	c, err := s.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer s.host.Changed()
	for _, r := range snaps {
		if err := destroySnapshot(ctx, c, inv, r); err != nil {
			return err
		}
		out.Line("destroyed snapshot %q (%s) and its disks", inv.VMs[r].NameLabel, inv.VMs[r].UUID)
	}
	return nil
}

// backUp waits for domU, just resumed or started, to report its address;
// after a boot (booted) it runs devstack's rejoin-stack.sh as the stack
// user, since the agents that ran before are gone. The placeholder's port,
// re-added untagged under domU's new domid, is the caller's to put back on
// VLAN 4095.
func backUp(ctx context.Context, h *hosts.Host, lab *localrc.Config, vm xapi.Ref, booted bool, out provision.Output) error {
	c, err := h.XAPI(ctx)
	if err != nil {
		return err
	}
	dev := strconv.Itoa(lab.DomU.Devices.Management)
	ip, err := c.WaitGuestIP(ctx, vm, dev)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(lab.DomU.SSHPort))
	if err := recordHostKeyIfNew(ctx, h, lab, vm, addr, out); err != nil { // hostkey.go
		return err
	}
	h.Changed()
	if !booted {
		return nil
	}
	v, err := readView(ctx, h, lab)
	if err != nil {
		return err
	}
	if b, ok := v.domUBoot(); !ok || b.Addr != addr {
		return fmt.Errorf("domU reports %s but xapi's records do not show it running there", ip)
	}
	g, err := domUConn(ctx, h, v)
	if err != nil {
		return err
	}
	if err := (&agents{host: h, lab: lab}).rejoin(ctx, g, agentsState{}, out); err != nil {
		return err
	}
	out.Line("domU: rejoin-stack.sh brought the agents back")
	return nil
}
