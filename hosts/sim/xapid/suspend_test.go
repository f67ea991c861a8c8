package xapid

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// runningVM makes a VM with one VIF on a new network and starts it; it
// returns the VM, the network's bridge and the VM's first domid.
func runningVM(t *testing.T, s *Server, sess string) (vm string, domid int64) {
	t.Helper()
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	vm = newVM(t, s, sess, "domU")
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
	mustCall(t, s, "VM.start", sess, vm, false, false)
	waitBooted(t, s, sess, vm)
	return vm, mustCall(t, s, "VM.get_domid", sess, vm).(int64)
}

// waitBooted waits until the VM's guest has booted (its guest metrics
// exist), so that no boot is still under way in the background.
func waitBooted(t *testing.T, s *Server, sess, vm string) {
	t.Helper()
	waitFor(t, "the guest's boot", func() bool { return mustCall(t, s, "VM.get_guest_metrics", sess, vm) != NullRef })
}

func vdiCount(t *testing.T, s *Server, sess string) int {
	t.Helper()
	return len(mustCall(t, s, "VDI.get_all", sess).([]string))
}

// TestSuspendResume: xapi_vm_lifecycle's power states for suspend and
// resume, the suspend VDI a suspend makes and a resume destroys, and the
// new domain (new domid, new port name) a resume gets.
func TestSuspendResume(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	halted := newVM(t, s, sess, "halted")
	wantErr(t, s, []string{ErrVMBadPowerState, halted, "running", "halted"}, "VM.suspend", sess, halted)
	wantErr(t, s, []string{ErrVMBadPowerState, halted, "suspended", "halted"}, "VM.resume", sess, halted, false, false)

	vm, domid := runningVM(t, s, sess)
	uuid := mustCall(t, s, "VM.get_uuid", sess, vm).(string)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "suspended", "running"}, "VM.resume", sess, vm, false, false)
	before := vdiCount(t, s, sess)
	mustCall(t, s, "VM.suspend", sess, vm)
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Suspended" {
		t.Fatalf("after suspend: %v", ps)
	}
	sv := mustCall(t, s, "VM.get_suspend_VDI", sess, vm).(string)
	if sv == NullRef || mustCall(t, s, "VDI.get_type", sess, sv) != "suspend" || vdiCount(t, s, sess) != before+1 {
		t.Fatalf("suspend VDI %s", sv)
	}
	if d := mustCall(t, s, "VM.get_domid", sess, vm); d != int64(-1) || len(mh.Guests()) != 0 {
		t.Fatalf("suspended: domid %v, guests %v", d, mh.Guests())
	}
	if _, ok := mh.Port("xapi0", fmt.Sprintf("vif%d.0", domid)); ok {
		t.Fatal("a suspended VM's port must go")
	}
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "halted", "suspended"}, "VM.start", sess, vm, false, false)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "running", "suspended"}, "VM.clean_shutdown", sess, vm)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "running", "suspended"}, "VM.suspend", sess, vm)

	task := mustCall(t, s, "Async.VM.resume", sess, vm, false, false).(string)
	waitFor(t, "the resume task", func() bool { return mustCall(t, s, "task.get_status", sess, task) != "pending" })
	if st := mustCall(t, s, "task.get_status", sess, task); st != "success" {
		t.Fatalf("resume task %v: %v", st, mustCall(t, s, "task.get_error_info", sess, task))
	}
	nd := mustCall(t, s, "VM.get_domid", sess, vm).(int64)
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Running" || nd == domid {
		t.Fatalf("after resume: %v, domid %d (was %d)", ps, nd, domid)
	}
	if _, ok := mh.Port("xapi0", fmt.Sprintf("vif%d.0", nd)); !ok {
		t.Fatalf("resumed VM has no port vif%d.0", nd)
	}
	if mustCall(t, s, "VM.get_suspend_VDI", sess, vm) != NullRef || vdiCount(t, s, sess) != before {
		t.Fatal("resume must destroy the suspend VDI")
	}
	waitFor(t, "the resumed guest", func() bool { g, ok := mh.Guest(uuid); return ok && g.Resumed && g.DomID == nd })
	// A suspended VM shut down loses its suspend image.
	mustCall(t, s, "VM.suspend", sess, vm)
	mustCall(t, s, "VM.hard_shutdown", sess, vm)
	if mustCall(t, s, "VM.get_suspend_VDI", sess, vm) != NullRef || vdiCount(t, s, sess) != before {
		t.Fatal("hard_shutdown of a suspended VM must destroy its suspend VDI")
	}
	// Resume with start_paused leaves it Paused.
	mustCall(t, s, "VM.start", sess, vm, false, false)
	mustCall(t, s, "VM.suspend", sess, vm)
	mustCall(t, s, "VM.resume", sess, vm, true, false)
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Paused" {
		t.Fatalf("resume paused: %v", ps)
	}
	dom0 := ""
	for ref, rec := range mustCall(t, s, "VM.get_all_records", sess).(map[string]any) {
		if rec.(map[string]any)["is_control_domain"] == true {
			dom0 = ref
		}
	}
	wantErr(t, s, []string{ErrOperationNotAllowed, "Operations on domain 0 are not allowed"}, "VM.suspend", sess, dom0)
	wantErr(t, s, []string{ErrOperationNotAllowed, "Operations on domain 0 are not allowed"}, "VM.checkpoint", sess, dom0, "x")
}

// TestCheckpointRevertResume: VM.checkpoint of a running VM leaves it
// running in a new domain and makes a Suspended snapshot with a suspend
// VDI (xapi_vm_snapshot.ml checkpoint, xapi_vm_clone.ml); a revert to it
// leaves the VM Suspended with a copy of that image, its old disks
// destroyed; resume runs it. Reverting again and again does not pile up
// disks.
func TestCheckpointRevertResume(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	vm, domid := runningVM(t, s, sess)
	uuid := mustCall(t, s, "VM.get_uuid", sess, vm).(string)
	before := vdiCount(t, s, sess)
	task := mustCall(t, s, "Async.VM.checkpoint", sess, vm, "clean").(string)
	waitFor(t, "the checkpoint task", func() bool { return mustCall(t, s, "task.get_status", sess, task) != "pending" })
	res := mustCall(t, s, "task.get_result", sess, task).(string)
	snaps := mustCall(t, s, "VM.get_snapshots", sess, vm).([]string)
	if len(snaps) != 1 || res != "<value>"+snaps[0]+"</value>" {
		t.Fatalf("checkpoint result %q, snapshots %v", res, snaps)
	}
	cp := snaps[0]
	nd := mustCall(t, s, "VM.get_domid", sess, vm).(int64)
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Running" || nd == domid {
		t.Fatalf("after checkpoint the VM is %v in domain %d (was %d)", ps, nd, domid)
	}
	waitFor(t, "the resumed guest", func() bool { g, ok := mh.Guest(uuid); return ok && g.Resumed && g.DomID == nd })
	rec := mustCall(t, s, "VM.get_record", sess, cp).(map[string]any)
	sv := rec["suspend_VDI"].(string)
	if rec["power_state"] != "Suspended" || rec["is_a_snapshot"] != true || sv == NullRef ||
		mustCall(t, s, "VDI.get_is_a_snapshot", sess, sv) != true || mustCall(t, s, "VM.get_suspend_VDI", sess, vm) != NullRef {
		t.Fatalf("checkpoint record: power %v snapshot %v suspend_VDI %v", rec["power_state"], rec["is_a_snapshot"], sv)
	}
	if !slices.Contains(rec["allowed_operations"].([]string), "revert") || slices.Contains(rec["allowed_operations"].([]string), "resume") {
		t.Fatalf("checkpoint allowed_operations %v", rec["allowed_operations"])
	}
	if n := vdiCount(t, s, sess); n != before+2 { // the disk's snapshot and the memory image
		t.Fatalf("VDIs %d, want %d", n, before+2)
	}
	wantErr(t, s, []string{ErrVMIsSnapshot, cp, "resume"}, "VM.resume", sess, cp, false, false)
	// An administrator's block: checkpoint is refused and not allowed
	// (xenlab then takes a disk snapshot); snapshot still is.
	mustCall(t, s, "VM.add_to_blocked_operations", sess, vm, "checkpoint", "no memory snapshots")
	wantErr(t, s, []string{ErrOperationBlocked, vm, "no memory snapshots"}, "VM.checkpoint", sess, vm, "again")
	if ops := mustCall(t, s, "VM.get_allowed_operations", sess, vm).([]string); slices.Contains(ops, "checkpoint") ||
		!slices.Contains(ops, "snapshot") {
		t.Fatalf("allowed_operations with checkpoint blocked: %v", ops)
	}
	mustCall(t, s, "VM.remove_from_blocked_operations", sess, vm, "checkpoint")
	wantErr(t, s, []string{ErrVMBadPowerState, cp, "halted", "suspended"}, "VM.start", sess, cp, false, false)

	for i := 0; i < 2; i++ {
		mustCall(t, s, "VM.revert", sess, cp)
		if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Suspended" {
			t.Fatalf("after revert to a checkpoint: %v", ps)
		}
		vs := mustCall(t, s, "VM.get_suspend_VDI", sess, vm).(string)
		if vs == NullRef || vs == sv {
			t.Fatalf("reverted VM's suspend VDI %s (checkpoint's %s)", vs, sv)
		}
		// The checkpoint's resume booted the guest in the background;
		// the revert stops it, before or after that boot ends.
		waitFor(t, "the reverted VM's guest to stop", func() bool { return len(mh.Guests()) == 0 })
		if n := vdiCount(t, s, sess); n != before+3 { // + the VM's copy of the image
			t.Fatalf("revert %d: VDIs %d, want %d", i, n, before+3)
		}
		// The checkpoint's disk is now a snapshot of the VM's new disk.
		vbd := mustCall(t, s, "VM.get_VBDs", sess, vm).([]string)[0]
		disk := mustCall(t, s, "VBD.get_VDI", sess, vbd).(string)
		cvbd := mustCall(t, s, "VM.get_VBDs", sess, cp).([]string)[0]
		if of := mustCall(t, s, "VDI.get_snapshot_of", sess, mustCall(t, s, "VBD.get_VDI", sess, cvbd)); of != disk {
			t.Fatalf("checkpoint disk's snapshot_of %v, VM's disk %v", of, disk)
		}
		mustCall(t, s, "VM.resume", sess, vm, false, false)
		if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Running" {
			t.Fatalf("after resume: %v", ps)
		}
		if n := vdiCount(t, s, sess); n != before+2 {
			t.Fatalf("after resume: VDIs %d, want %d", n, before+2)
		}
	}

	// No checkpoint of a halted VM (xapi_vm_lifecycle: paused, suspended
	// or running).
	mustCall(t, s, "VM.hard_shutdown", sess, vm)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "paused, suspended, running", "halted"}, "VM.checkpoint", sess, vm, "halted")
	// A snapshot (not a checkpoint) of a suspended VM has no image.
	mustCall(t, s, "VM.start", sess, vm, false, false)
	mustCall(t, s, "VM.suspend", sess, vm)
	ps := mustCall(t, s, "VM.snapshot", sess, vm, "disk only").(string)
	if mustCall(t, s, "VM.get_power_state", sess, ps) != "Halted" || mustCall(t, s, "VM.get_suspend_VDI", sess, ps) != NullRef {
		t.Fatal("snapshot of a suspended VM")
	}

	// A checkpoint is destroyed as a VM (Suspended is allowed); its disks
	// and image are the caller's to destroy.
	vbds := mustCall(t, s, "VM.get_VBDs", sess, cp).([]string)
	mustCall(t, s, "VM.destroy", sess, cp)
	if !slices.Contains(mustCall(t, s, "VDI.get_all", sess).([]string), sv) {
		t.Fatal("VM.destroy must leave the VDIs")
	}
	wantErr(t, s, []string{ErrHandleInvalid, "VBD", vbds[0]}, "VBD.get_VDI", sess, vbds[0])
	mustCall(t, s, "VDI.destroy", sess, sv)
}

// TestXenlabClientCheckpoint drives xenlab's client's checkpoint, revert
// and resume against the simulator, and its decoding of suspend_VDI.
func TestXenlabClientCheckpoint(t *testing.T) {
	s, _, sess := newTestServer(t, Options{AuthFailDelay: time.Millisecond})
	vm, _ := runningVM(t, s, sess)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := xapi.Dial(ctx, xapi.Options{URL: listen(t, s), User: "root", Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	cp, err := c.VMCheckpoint(ctx, xapi.Ref(vm), "clean")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.VMGetRecord(ctx, cp)
	if err != nil || rec.PowerState != xapi.PowerSuspended || rec.SuspendVDI.IsNull() || !rec.IsASnapshot {
		t.Fatalf("checkpoint %+v %v", rec, err)
	}
	if err := c.VMRevert(ctx, cp); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSuspend(ctx, xapi.Ref(vm)); !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
		t.Fatalf("suspend of a suspended VM: %v", err)
	}
	if err := c.VMResume(ctx, xapi.Ref(vm), false, false); err != nil {
		t.Fatal(err)
	}
	if ps, err := c.VMGetPowerState(ctx, xapi.Ref(vm)); err != nil || ps != xapi.PowerRunning {
		t.Fatalf("after resume %v %v", ps, err)
	}
}

// TestRevertRestoresTheVMsOwnConfig: VM.revert gives the VM its
// configuration as it was when the snapshot was taken (the snapshot's
// snapshot_metadata, xapi_vm_snapshot.ml revert_vm_fields "post-MNR"),
// not the snapshot's record: a tag added to the snapshot afterwards, or
// to the VM, and the snapshot's own name, do not reach the reverted VM.
func TestRevertRestoresTheVMsOwnConfig(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	vm, _ := runningVM(t, s, sess)
	mustCall(t, s, "VM.add_to_other_config", sess, vm, "role", "domu")
	name := mustCall(t, s, "VM.get_name_label", sess, vm)
	cp := mustCall(t, s, "VM.checkpoint", sess, vm, "clean").(string)
	if mustCall(t, s, "VM.get_snapshot_metadata", sess, cp) == "" {
		t.Fatal("a checkpoint without snapshot_metadata")
	}
	mustCall(t, s, "VM.remove_from_other_config", sess, cp, "role")
	mustCall(t, s, "VM.add_to_other_config", sess, cp, "role", "snapshot")
	mustCall(t, s, "VM.add_to_other_config", sess, vm, "later", "yes")
	mustCall(t, s, "VM.set_name_label", sess, vm, "renamed")
	mustCall(t, s, "VM.revert", sess, cp)
	oc := mustCall(t, s, "VM.get_other_config", sess, vm).(map[string]string)
	if oc["role"] != "domu" || oc["later"] != "" {
		t.Fatalf("reverted VM's other_config %v, want role domu as at the checkpoint, without later", oc)
	}
	if got := mustCall(t, s, "VM.get_name_label", sess, vm); got != name {
		t.Fatalf("reverted VM's name %v, want %v as at the checkpoint", got, name)
	}
	if mustCall(t, s, "VM.get_is_a_snapshot", sess, vm) != false || mustCall(t, s, "VM.get_is_a_template", sess, vm) != false ||
		mustCall(t, s, "VM.get_snapshot_of", sess, vm) != NullRef || mustCall(t, s, "VM.get_parent", sess, vm) != cp {
		t.Fatal("reverted VM: a snapshot or template, or parent not the checkpoint")
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Suspended" {
		t.Fatalf("reverted VM is %v, want Suspended", ps)
	}
	if oc := mustCall(t, s, "VM.get_other_config", sess, cp).(map[string]string); oc["role"] != "snapshot" {
		t.Fatalf("the checkpoint's other_config changed: %v", oc)
	}
}
