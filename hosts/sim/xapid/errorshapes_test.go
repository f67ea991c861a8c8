package xapid

import (
	"context"
	"errors"
	"testing"
)

// The five error shapes the simulator had wrong, each against the line of
// xen-api that raises it (tags XS62 for XenServer 6.2 and v1.249.0 for
// Citrix Hypervisor 8.2; the code is the same in both).

// xen-api ocaml/xapi/xapi_vm_lifecycle.ml report_concurrent_operations_error
// (XS62 line 195, v1.249.0 line 236): ["VM.<op>"; ref].
func TestShapeOtherOperationInProgress(t *testing.T) {
	gh := &gatedHost{MemHost: NewMemHost(t.TempDir()), entered: make(chan struct{}), release: make(chan struct{})}
	s, _, sess := newTestServer(t, Options{Host: gh})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	vm := newVM(t, s, sess, "domU")
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
	done := make(chan error, 1)
	go func() {
		_, err := s.Call(context.Background(), "VM.start", sess, vm, false, false)
		done <- err
	}()
	<-gh.entered
	wantErr(t, s, []string{ErrOtherOperationInProgress, "VM.start", vm}, "VM.clone", sess, vm, "c")
	close(gh.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// xen-api ocaml/idl/ocaml_backend/gen_server.ml (XS62 line 251, v1.249.0
// line 284): [method; mandatory parameters; parameters received], both
// counted without the session.
func TestShapeParameterCountMismatch(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	wantErr(t, s, []string{ErrMessageParameterCount, "VM.get_record", "1", "0"}, "VM.get_record", sess)
	wantErr(t, s, []string{ErrMessageParameterCount, "VM.clone", "2", "3"}, "VM.clone", sess, "a", "b", "c")
	// A call without a session counts every parameter.
	wantErr(t, s, []string{ErrMessageParameterCount, "session.login_with_password", "2", "1"},
		"session.login_with_password", "root")
}

// xen-api ocaml/idl/datamodel.ml class task (XS62), ocaml/xapi/xapi_task.ml
// create: task.create(session, label, description) makes a pending task;
// task.destroy removes it.
func TestShapeTaskCreate(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	task := mustCall(t, s, "task.create", sess, "my task", "made by hand").(string)
	rec := mustCall(t, s, "task.get_record", sess, task).(map[string]any)
	if rec["name_label"] != "my task" || rec["name_description"] != "made by hand" || rec["status"] != "pending" ||
		rec["resident_on"] != s.HostRef() {
		t.Fatalf("task record %v", rec)
	}
	mustCall(t, s, "task.destroy", sess, task)
	mustCall(t, s, "task.destroy", sess, task) // pending: marked for the collector
	wantErr(t, s, []string{ErrMessageMethodUnknown, "Async.task.create"}, "Async.task.create", sess, "x", "y")
}

// xen-api ocaml/xapi/xapi_vm.ml copy (XS62 line 503, v1.249.0 line 716):
// "It's not an error to not exist at all": an SR ref that is no SR ("",
// NULL, stale) copies each disk within its own SR.
func TestShapeVMCopyWithoutSR(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	vm := newVM(t, s, sess, "src")
	srcSR := mustCall(t, s, "VDI.get_SR", sess, mustCall(t, s, "VBD.get_VDI", sess,
		one(t, mustCall(t, s, "VM.get_VBDs", sess, vm)))).(string)
	for _, sr := range []string{"", NullRef, "OpaqueRef:gone"} {
		cp := mustCall(t, s, "VM.copy", sess, vm, "copy", sr).(string)
		vdi := mustCall(t, s, "VBD.get_VDI", sess, one(t, mustCall(t, s, "VM.get_VBDs", sess, cp))).(string)
		if got := mustCall(t, s, "VDI.get_SR", sess, vdi); got != srcSR {
			t.Fatalf("copy with sr %q put its disk in %v, want %v", sr, got, srcSR)
		}
	}
}

// xen-api ocaml/xapi/xapi_vif_helpers.ml create (XS62 line 153): the
// network is stored as given, never looked up; the VM is.
func TestShapeVIFCreateDanglingNetwork(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	vm := newVM(t, s, sess, "domU")
	vif := mustCall(t, s, "VIF.create", sess, vifArgs(vm, "OpaqueRef:no-such-network", "0")).(string)
	if got := mustCall(t, s, "VIF.get_network", sess, vif); got != "OpaqueRef:no-such-network" {
		t.Fatalf("network %v", got)
	}
	wantErr(t, s, []string{ErrHandleInvalid, "VM", "OpaqueRef:no-vm"}, "VIF.create", sess, vifArgs("OpaqueRef:no-vm", "OpaqueRef:x", "1"))
	// Starting the VM reads the network's bridge: the missing row fails it.
	_, err := s.Call(context.Background(), "VM.start", sess, vm, false, false)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != ErrHandleInvalid || len(ae.Params) != 2 || ae.Params[0] != "network" {
		t.Fatalf("start: %v", err)
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Halted" {
		t.Fatalf("power state %v", ps)
	}
}
