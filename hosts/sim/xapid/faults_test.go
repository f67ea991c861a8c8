package xapid

import (
	"context"
	"errors"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// TestFaults injects each kind of fault into the simulated xapi and reads
// it through xenlab's client: the next N calls of a method fail (and only
// those), and the client classifies what comes back as xapi documents it:
// OTHER_OPERATION_IN_PROGRESS and a VM_BAD_POWER_STATE during a transition
// are transient, a reset read is transient, a lost answer to a write is
// not (the write happened), and any other failure is permanent.
func TestFaults(t *testing.T) {
	var faults Faults
	s, _, _ := newTestServer(t, Options{Fault: faults.Fault})
	url := listen(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	transient := func(err error) bool {
		var tmp interface{ Transient() bool }
		return errors.As(err, &tmp) && tmp.Transient()
	}
	netSpec := func(name string) xapi.NetworkSpec {
		return xapi.NetworkSpec{NameLabel: name, OtherConfig: map[string]string{"xenlab-lab": "t"}}
	}

	// The next two network.create fail, the third is made.
	faults.FailNext("network.create", 2, ErrOtherOperationInProgress, "network", "OpaqueRef:busy", "attaching")
	for i := range 2 {
		_, err := c.NetworkCreate(ctx, netSpec("busy"))
		if !xapi.HasCode(err, xapi.CodeOtherOperationInProgress) || !transient(err) {
			t.Fatalf("call %d: %v (transient %v), want a transient OTHER_OPERATION_IN_PROGRESS", i+1, err, transient(err))
		}
	}
	if _, err := c.NetworkCreate(ctx, netSpec("busy")); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if faults.Injected("network.create") != 2 || faults.Left() != 0 {
		t.Fatalf("injected %d, left %d", faults.Injected("network.create"), faults.Left())
	}

	// A permanent failure.
	faults.FailNext("network.create", 1, ErrInternalError, "injected")
	if _, err := c.NetworkCreate(ctx, netSpec("x")); !xapi.HasCode(err, xapi.CodeInternalError) || transient(err) {
		t.Fatalf("INTERNAL_ERROR: %v (transient %v), want permanent", err, transient(err))
	}

	// A read whose connection is reset may be tried again...
	faults.DropNext("host.get_all", 1)
	_, err = c.HostGetAll(ctx)
	var te *xapi.TransportError
	if !errors.As(err, &te) || !transient(err) {
		t.Fatalf("reset read: %v (transient %v), want a transient transport error", err, transient(err))
	}
	if hs, err := c.HostGetAll(ctx); err != nil || len(hs) != 1 {
		t.Fatalf("read again: %v %v", hs, err)
	}
	// ...a write whose answer is lost may not: it was made.
	before, err := c.NetworkGetAllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faults.LoseNextAnswer("network.create", 1)
	if _, err := c.NetworkCreate(ctx, netSpec("lost")); !errors.As(err, &te) || transient(err) {
		t.Fatalf("lost answer to a write: %v (transient %v), want a permanent transport error", err, transient(err))
	}
	if after, _ := c.NetworkGetAllRecords(ctx); len(after) != len(before)+1 {
		t.Fatalf("networks %d -> %d: the call whose answer was lost must have been made", len(before), len(after))
	}
	// A write reset before it was made is not retried either: the client
	// cannot tell the two apart.
	faults.DropNext("network.create", 1)
	if _, err := c.NetworkCreate(ctx, netSpec("dropped")); transient(err) {
		t.Fatalf("reset write: %v is transient", err)
	}

	// VM_BAD_POWER_STATE: transient only during a transition.
	tpl, err := c.VMGetByNameLabel(ctx, DevstackTemplateName)
	if err != nil || len(tpl) != 1 {
		t.Fatalf("template %v %v", tpl, err)
	}
	res, err := c.RunAsync(ctx, "VM.clone", tpl[0], "vm")
	if err != nil {
		t.Fatal(err)
	}
	vm := xapi.Ref(res.(string))
	if err := c.VMSetIsATemplate(ctx, vm, false); err != nil {
		t.Fatal(err)
	}
	// It says the VM was running; the VM, read right after, is halted: it
	// was leaving Running when the call came.
	faults.FailNext("VM.start", 1, ErrVMBadPowerState, string(vm), "halted", "running")
	err = c.VMStart(ctx, vm, false, false)
	var xe *xapi.Error
	if !errors.As(err, &xe) || xe.Code != xapi.CodeVMBadPowerState || !transient(err) || xe.Transition != "the VM was running and is halted now" {
		t.Fatalf("VM_BAD_POWER_STATE in a transition: %v (transient %v)", err, transient(err))
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	// Starting a running VM is a wrong state, not a transition.
	if err := c.VMStart(ctx, vm, false, false); !xapi.HasCode(err, xapi.CodeVMBadPowerState) || transient(err) {
		t.Fatalf("VM.start of a running VM: %v (transient %v), want permanent", err, transient(err))
	}
}
