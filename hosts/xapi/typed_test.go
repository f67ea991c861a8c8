package xapi

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// vmRecordWire is a VM record as current xapi sends it: ints as strings,
// an allowed operation this code has no constant for, nested maps.
func vmRecordWire() map[string]any {
	return map[string]any{
		"uuid": "0b5e-vm", "name_label": "DevStackOSDomU", "name_description": "",
		"power_state": "Running", "is_a_template": false, "is_a_snapshot": false,
		"is_control_domain": false, "domid": "7", "resident_on": "OpaqueRef:host",
		"snapshot_of": "OpaqueRef:NULL", "snapshots": []any{"OpaqueRef:snap"},
		"guest_metrics": "OpaqueRef:gm", "VIFs": []any{"OpaqueRef:vif0", "OpaqueRef:vif1"},
		"VBDs": []any{}, "PV_args": "flat_network_bridge=xapi1", "PV_bootloader": "pygrub",
		"memory_static_min": "134217728", "memory_static_max": "3221225472",
		"memory_dynamic_min": "3221225472", "memory_dynamic_max": "3221225472",
		"VCPUs_max": "4", "VCPUs_at_startup": "4",
		"allowed_operations": []any{"changing_NVRAM", "clean_shutdown", "some_future_op"},
		"current_operations": map[string]any{},
		"blocked_operations": map[string]any{"destroy": "true"},
		"other_config":       map[string]any{"xenlab-lab": "lab1", "os-vpx": "true"},
		"tags":               []any{},
		"HVM_boot_params":    map[string]any{"order": "dc"}, // a field xenlab ignores
		"NVRAM":              map[string]any{},
	}
}

func TestVMGetRecordDecodesRealRecord(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VM.get_record", func([]any) (any, error) { return vmRecordWire(), nil })
	c := dialFake(t, f, f.serve(false).URL)
	rec, err := c.VMGetRecord(context.Background(), "OpaqueRef:vm")
	if err != nil {
		t.Fatal(err)
	}
	if rec.PowerState != PowerRunning || rec.Domid != 7 || rec.MemoryStaticMax != 3<<30 || rec.VCPUsMax != 4 {
		t.Errorf("scalars: %+v", rec)
	}
	if want := []string{"changing_NVRAM", "clean_shutdown", "some_future_op"}; !reflect.DeepEqual(rec.AllowedOperations, want) {
		t.Errorf("allowed_operations %v", rec.AllowedOperations)
	}
	if rec.OtherConfig["xenlab-lab"] != "lab1" || rec.BlockedOperations["destroy"] != "true" {
		t.Errorf("maps: %v %v", rec.OtherConfig, rec.BlockedOperations)
	}
	if !reflect.DeepEqual(rec.VIFs, []Ref{"OpaqueRef:vif0", "OpaqueRef:vif1"}) || !rec.SnapshotOf.IsNull() || rec.GuestMetrics != "OpaqueRef:gm" {
		t.Errorf("refs: %v %v %v", rec.VIFs, rec.SnapshotOf, rec.GuestMetrics)
	}
	if rec.PVArgs != "flat_network_bridge=xapi1" {
		t.Errorf("PV_args %q", rec.PVArgs)
	}
}

func TestRecordOfWrongShapeIsAnErrorNotAPanic(t *testing.T) {
	f := newFakeXapi(t)
	bad := vmRecordWire()
	bad["memory_static_max"] = "lots"
	f.handle("VM.get_record", func([]any) (any, error) { return bad, nil })
	f.handle("VM.get_all_records", func([]any) (any, error) { return []any{"not", "a", "map"}, nil })
	f.handle("VIF.get_record", func([]any) (any, error) { return "OpaqueRef:x", nil })
	f.handle("VM.get_VIFs", func([]any) (any, error) { return map[string]any{}, nil })
	f.handle("event.from", func([]any) (any, error) { return []any{}, nil }) // the array go-xen-api-client expects
	c := dialFake(t, f, f.serve(false).URL)
	ctx := context.Background()
	var te *TransportError
	if _, err := c.VMGetRecord(ctx, "OpaqueRef:vm"); !errors.As(err, &te) || !strings.Contains(err.Error(), "memory_static_max") {
		t.Errorf("bad int field: %v", err)
	}
	if _, err := c.VMGetAllRecords(ctx); !errors.As(err, &te) {
		t.Errorf("records not a map: %v", err)
	}
	if _, err := c.VIFGetRecord(ctx, "OpaqueRef:vif"); !errors.As(err, &te) {
		t.Errorf("record not a struct: %v", err)
	}
	if _, err := c.VMGetVIFs(ctx, "OpaqueRef:vm"); !errors.As(err, &te) {
		t.Errorf("refs not an array: %v", err)
	}
	if _, err := c.EventFrom(ctx, []string{"vm"}, "", 0); !errors.As(err, &te) {
		t.Errorf("event.from array: %v", err)
	}
}

func TestGetAllRecords(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VM.get_all_records", func([]any) (any, error) {
		return map[string]any{"OpaqueRef:a": vmRecordWire(), "OpaqueRef:b": map[string]any{"uuid": "b", "power_state": "Halted", "domid": "-1"}}, nil
	})
	f.handle("PIF.get_all_records", func([]any) (any, error) {
		return map[string]any{"OpaqueRef:pif": map[string]any{"device": "eth0", "management": true, "network": "OpaqueRef:net", "VLAN": "-1", "MTU": "1500"}}, nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	vms, err := c.VMGetAllRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 2 || vms["OpaqueRef:b"].Domid != -1 || vms["OpaqueRef:a"].NameLabel != "DevStackOSDomU" {
		t.Fatalf("got %+v", vms)
	}
	pifs, err := c.PIFGetAllRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := pifs["OpaqueRef:pif"]; !p.Management || p.Network != "OpaqueRef:net" || p.VLAN != -1 || p.Device != "eth0" {
		t.Fatalf("got %+v", p)
	}
}

func TestNetworkCreateSendsManaged(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("network.create", func([]any) (any, error) { return "OpaqueRef:net", nil })
	c := dialFake(t, f, f.serve(false).URL)
	ref, err := c.NetworkCreate(context.Background(), NetworkSpec{NameLabel: "OpenStack VM Network", OtherConfig: map[string]string{"xenlab-lab": "l"}})
	if err != nil || ref != "OpaqueRef:net" {
		t.Fatalf("got %v %v", ref, err)
	}
	got := f.lastCall("network.create").Params[0]
	want := map[string]any{
		"name_label": "OpenStack VM Network", "name_description": "", "MTU": "1500",
		"other_config": map[string]any{"xenlab-lab": "l"}, "tags": []any{}, "bridge": "", "managed": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %#v\nwant %#v", got, want)
	}
}

func TestVIFCreateSendsDeviceAndLockingMode(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VIF.create", func([]any) (any, error) { return "OpaqueRef:vif", nil })
	c := dialFake(t, f, f.serve(false).URL)
	ctx := context.Background()
	if _, err := c.VIFCreate(ctx, VIFSpec{VM: "OpaqueRef:vm", Network: "OpaqueRef:net"}); err == nil {
		t.Fatal("a VIF without a device was sent")
	}
	if _, err := c.VIFCreate(ctx, VIFSpec{VM: "OpaqueRef:vm", Network: "OpaqueRef:net", Device: "3"}); err != nil {
		t.Fatal(err)
	}
	got := f.lastCall("VIF.create").Params[0].(map[string]any)
	for k, want := range map[string]any{
		"device": "3", "VM": "OpaqueRef:vm", "network": "OpaqueRef:net", "MAC": "", "MTU": "1500",
		"locking_mode": "network_default", "other_config": map[string]any{},
		"qos_algorithm_type": "", "qos_algorithm_params": map[string]any{},
	} {
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("%s: sent %#v, want %#v", k, got[k], want)
		}
	}
}

func TestMethodsSendXapiParams(t *testing.T) {
	f := newFakeXapi(t)
	for _, m := range []string{"VM.set_memory_limits", "VM.start", "host.call_plugin", "VM.copy", "VM.set_VCPUs_max", "VM.set_VCPUs_at_startup"} {
		f.handle(m, func([]any) (any, error) { return "ok", nil })
	}
	f.handle("VM.get_record", func([]any) (any, error) { return map[string]any{"VCPUs_max": "2"}, nil })
	c := dialFake(t, f, f.serve(false).URL)
	ctx := context.Background()
	vm := Ref("OpaqueRef:vm")
	if err := c.VMSetMemoryLimits(ctx, vm, 1, 4, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.VMStart(ctx, vm, false, true); err != nil {
		t.Fatal(err)
	}
	out, err := c.HostCallPlugin(ctx, "OpaqueRef:h", "netwrap", "run_command", map[string]string{"cmd": `["ovs-vsctl","show"]`})
	if err != nil || out != "ok" {
		t.Fatal(out, err)
	}
	if _, err := c.VMCopy(ctx, vm, "copy", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetVCPUs(ctx, vm, 4); err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]string{
		"VM.set_memory_limits":    `[OpaqueRef:vm 1 4 2 3]`,
		"VM.start":                `[OpaqueRef:vm false true]`,
		"host.call_plugin":        `[OpaqueRef:h netwrap run_command map[cmd:["ovs-vsctl","show"]]]`,
		"VM.copy":                 `[OpaqueRef:vm copy OpaqueRef:NULL]`,
		"VM.set_VCPUs_max":        `[OpaqueRef:vm 4]`,
		"VM.set_VCPUs_at_startup": `[OpaqueRef:vm 4]`,
	} {
		if got := fmt.Sprint(f.lastCall(method).Params); got != want {
			t.Errorf("%s sent %s, want %s", method, got, want)
		}
	}
	// Raising VCPUs sets the maximum first.
	if mx, st := f.callsTo("VM.set_VCPUs_max"), f.callsTo("VM.set_VCPUs_at_startup"); len(mx) != 1 || len(st) != 1 {
		t.Fatalf("VCPU calls: %v %v", mx, st)
	}
	if got := vcpuSetters(f, 0); got != "max at_startup" {
		t.Fatalf("raising VCPUs from 2 to 4 set %s, want max at_startup", got)
	}
	// Lowering them sets VCPUs_at_startup first.
	f.mu.Lock()
	mark := len(f.calls)
	f.mu.Unlock()
	if err := c.VMSetVCPUs(ctx, vm, 1); err != nil {
		t.Fatal(err)
	}
	if got := vcpuSetters(f, mark); got != "at_startup max" {
		t.Fatalf("lowering VCPUs from 2 to 1 set %s, want at_startup max", got)
	}
	// Ints go as decimal strings, as xapi wants int64 parameters.
	if p := f.lastCall("VM.set_memory_limits").Params; p[1] != "1" {
		t.Fatalf("int param decoded as %#v", p[1])
	}
}

// vcpuSetters lists, in order, the VM.set_VCPUs_* setters f received from
// its from-th call on.
func vcpuSetters(f *fakeXapi, from int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls[from:] {
		if s, ok := strings.CutPrefix(c.Method, "VM.set_VCPUs_"); ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func TestHostRecordAndManagementNetwork(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("host.get_record", func([]any) (any, error) {
		return map[string]any{
			"name_label": "xenserver", "API_version_major": "2", "API_version_minor": "21",
			"software_version": map[string]any{"product_version": "8.2.1", "network_backend": "openvswitch"},
			"other_config":     map[string]any{}, "PIFs": []any{"OpaqueRef:pif"},
		}, nil
	})
	f.handle("host.compute_free_memory", func([]any) (any, error) { return "6442450944", nil })
	f.handle("host.get_management_interface", func([]any) (any, error) { return "OpaqueRef:pif", nil })
	f.handle("PIF.get_record", func([]any) (any, error) {
		return map[string]any{"device": "eth0", "management": true, "network": "OpaqueRef:mgmt"}, nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	h, err := c.HostGetRecord(context.Background(), "OpaqueRef:h")
	if err != nil {
		t.Fatal(err)
	}
	if h.NetworkBackend() != "openvswitch" || h.APIVersionMajor != 2 || h.APIVersionMinor != 21 || h.SoftwareVersion["product_version"] != "8.2.1" {
		t.Fatalf("got %+v", h)
	}
	free, err := c.HostComputeFreeMemory(context.Background(), "OpaqueRef:h")
	if err != nil || free != 6<<30 {
		t.Fatalf("free memory %d %v", free, err)
	}
	if got := fmt.Sprint(f.lastCall("host.compute_free_memory").Params); got != "[OpaqueRef:h]" {
		t.Fatalf("host.compute_free_memory sent %s", got)
	}
	net, pif, err := c.ManagementNetwork(context.Background(), "OpaqueRef:h")
	if err != nil || net != "OpaqueRef:mgmt" || pif.Device != "eth0" {
		t.Fatalf("got %v %+v %v", net, pif, err)
	}
}

func TestDefaultSRInOneRoundTrip(t *testing.T) {
	f := newFakeXapi(t)
	pool := map[string]any{"uuid": "p", "name_label": "", "master": "OpaqueRef:h", "default_SR": "OpaqueRef:sr", "other_config": map[string]any{}}
	f.handle("pool.get_all_records", func([]any) (any, error) { return map[string]any{"OpaqueRef:pool": pool}, nil })
	c := dialFake(t, f, f.serve(false).URL)
	ctx := context.Background()
	before := c.RoundTrips()
	sr, err := c.DefaultSR(ctx)
	if err != nil || sr != "OpaqueRef:sr" {
		t.Fatalf("got %v %v", sr, err)
	}
	if n := c.RoundTrips() - before; n != 1 {
		t.Fatalf("%d round trips, want 1", n)
	}
	pool["default_SR"] = string(NullRef)
	if sr, err := c.DefaultSR(ctx); err != nil || !sr.IsNull() {
		t.Fatalf("no default SR: got %v %v", sr, err)
	}
	f.handle("pool.get_all_records", func([]any) (any, error) { return map[string]any{}, nil })
	if sr, err := c.DefaultSR(ctx); err != nil || sr != NullRef {
		t.Fatalf("no pool: got %v %v", sr, err)
	}
}

// eventModel is a tiny event source for the fake: a list of events with
// numeric tokens, and event.from that blocks until there are newer ones (or
// its timeout passes).
type eventModel struct {
	mu      sync.Mutex
	events  []map[string]any
	wake    chan struct{}
	objects map[string]eventObject // by ref
}

type eventObject struct {
	class string
	rec   map[string]any
}

func newEventModel() *eventModel {
	return &eventModel{wake: make(chan struct{}), objects: map[string]eventObject{}}
}

// setTask records a task state change and its event.
func (m *eventModel) setTask(ref string, rec map[string]any) { m.set("task", ref, rec) }

// set records an object change and its event.
func (m *eventModel) set(class, ref string, rec map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := "mod"
	if _, ok := m.objects[ref]; !ok {
		op = "add"
	}
	m.objects[ref] = eventObject{class, rec}
	m.events = append(m.events, map[string]any{
		"id": fmt.Sprint(len(m.events) + 1), "timestamp": "1742358984.000", "class": class,
		"operation": op, "ref": ref, "snapshot": rec,
	})
	close(m.wake)
	m.wake = make(chan struct{})
}

func (m *eventModel) get(ref string) (map[string]any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[ref]
	return o.rec, ok
}

func (m *eventModel) from(params []any) (any, error) {
	token, _ := params[1].(string)
	var since int
	if token != "" {
		fmt.Sscan(token, &since)
	}
	timeout, _ := params[2].(float64)
	deadline := time.After(min(time.Duration(timeout*float64(time.Second)), 5*time.Second))
	for {
		m.mu.Lock()
		out := []any{}
		if token == "" { // every current object, as xapi does
			for ref, o := range m.objects {
				out = append(out, map[string]any{"id": "0", "class": o.class, "operation": "add", "ref": ref, "snapshot": o.rec})
			}
		} else {
			for _, ev := range m.events[since:] {
				out = append(out, ev)
			}
		}
		n, wake, objects := len(m.events), m.wake, len(m.objects)
		m.mu.Unlock()
		if len(out) > 0 || token == "" {
			return map[string]any{"events": out, "valid_ref_counts": map[string]any{"task": fmt.Sprint(objects)}, "token": fmt.Sprint(n)}, nil
		}
		select {
		case <-wake:
		case <-deadline:
			return map[string]any{"events": []any{}, "valid_ref_counts": map[string]any{}, "token": fmt.Sprint(n)}, nil
		}
	}
}

func TestEventFromDecodesStruct(t *testing.T) {
	f := newFakeXapi(t)
	em := newEventModel()
	em.setTask("OpaqueRef:t1", map[string]any{"status": "pending", "progress": 0.5})
	f.handle("event.from", em.from)
	c := dialFake(t, f, f.serve(false).URL)
	b, err := c.EventFrom(context.Background(), []string{"task"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 1 || b.Events[0].Ref != "OpaqueRef:t1" || b.Events[0].Operation != "add" || b.Token != "1" || b.ValidRefCounts["task"] != 1 {
		t.Fatalf("got %+v", b)
	}
	var task TaskRecord
	if err := task.UnmarshalXAPI(b.Events[0].Snapshot); err != nil || task.Status != TaskPending || task.Progress != 0.5 {
		t.Fatalf("snapshot: %+v %v", task, err)
	}
	if p := f.lastCall("event.from").Params; fmt.Sprint(p) != "[[task]  0]" {
		t.Fatalf("sent %v", p)
	}
}

func TestWaitTaskOnEvents(t *testing.T) {
	f := newFakeXapi(t)
	em := newEventModel()
	f.handle("event.from", em.from)
	f.handle("task.get_record", func(p []any) (any, error) {
		rec, ok := em.get(p[0].(string))
		if !ok {
			return nil, &Error{Code: CodeHandleInvalid, Params: []string{"task", p[0].(string)}}
		}
		return rec, nil
	})
	f.handle("task.destroy", func([]any) (any, error) { return "", nil })
	f.handle("Async.VM.clone", func([]any) (any, error) {
		em.setTask("OpaqueRef:clone", map[string]any{"status": "pending", "name_label": "Async.VM.clone"})
		go func() { // the clone finishes a little later
			time.Sleep(20 * time.Millisecond)
			em.setTask("OpaqueRef:other", map[string]any{"status": "pending"})
			em.setTask("OpaqueRef:clone", map[string]any{"status": "success", "name_label": "Async.VM.clone", "result": "<value>OpaqueRef:newvm</value>"})
		}()
		return "OpaqueRef:clone", nil
	})
	f.handle("Async.VM.start", func([]any) (any, error) {
		em.setTask("OpaqueRef:start", map[string]any{"status": "failure", "name_label": "Async.VM.start",
			"error_info": []any{"VM_BAD_POWER_STATE", "OpaqueRef:vm", "halted", "running"}})
		return "OpaqueRef:start", nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := c.RunAsync(ctx, "VM.clone", Ref("OpaqueRef:tmpl"), "copy")
	if err != nil || v != "OpaqueRef:newvm" {
		t.Fatalf("got %v %v", v, err)
	}
	if len(f.callsTo("task.destroy")) != 1 {
		t.Fatal("task not destroyed")
	}
	// The task's states come from the events' snapshots, not from reads.
	if n := len(f.callsTo("task.get_record")); n != 0 {
		t.Fatalf("%d task.get_record calls while waiting on events, want 0", n)
	}
	// It subscribes to its task only, not to every task on the host.
	if got := fmt.Sprint(f.lastCall("event.from").Params[0]); got != "[task/OpaqueRef:clone]" {
		t.Fatalf("event.from subscribed to %s, want [task/OpaqueRef:clone]", got)
	}
	_, err = c.RunAsync(ctx, "VM.start", Ref("OpaqueRef:vm"), false, false)
	var xe *Error
	if !errors.As(err, &xe) || xe.Code != CodeVMBadPowerState || len(xe.Params) != 3 || xe.Method != "Async.VM.start" {
		t.Fatalf("got %v", err)
	}
	// A task that is not among the current ones fails with xapi's error.
	if _, err := c.WaitTask(ctx, "OpaqueRef:gone"); !HasCode(err, CodeHandleInvalid) {
		t.Fatalf("waiting for a missing task: got %v, want HANDLE_INVALID", err)
	}
}

func TestWaitForStopsOnContext(t *testing.T) {
	f := newFakeXapi(t)
	em := newEventModel()
	f.handle("event.from", em.from)
	c := dialFake(t, f, f.serve(false).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	calls := 0
	err := c.WaitFor(ctx, []string{"vm"}, func(context.Context, []Event) (bool, error) {
		calls++
		return false, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || calls == 0 {
		t.Fatalf("got %v after %d batches", err, calls)
	}
}

func TestParseTaskResult(t *testing.T) {
	for in, want := range map[string]any{
		"":                                       nil,
		"<value>OpaqueRef:x</value>":             "OpaqueRef:x",
		" <value><array><data/></array></value>": []any{},
		"OpaqueRef:bare":                         "OpaqueRef:bare",
	} {
		got, err := ParseTaskResult(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v %v", in, got, err)
		}
	}
	if _, err := ParseTaskResult("<value><struct>"); err == nil {
		t.Error("truncated result accepted")
	}
}

func TestWaitGuestIP(t *testing.T) {
	f := newFakeXapi(t)
	em := newEventModel()
	em.set("vm", "OpaqueRef:vm", map[string]any{"guest_metrics": "OpaqueRef:NULL"})
	f.handle("event.from", em.from)
	f.handle("VM.get_guest_metrics", func(p []any) (any, error) {
		rec, ok := em.get(p[0].(string))
		if !ok {
			return nil, &Error{Code: CodeHandleInvalid, Params: []string{"VM", p[0].(string)}}
		}
		return rec["guest_metrics"], nil
	})
	f.handle("VM_guest_metrics.get_networks", func(p []any) (any, error) {
		rec, _ := em.get(p[0].(string))
		return rec["networks"], nil
	})
	c := dialFake(t, f, f.serve(false).URL)
	go func() { // the guest boots, its agent reports no address, then one
		time.Sleep(10 * time.Millisecond)
		em.set("vm_guest_metrics", "OpaqueRef:gm", map[string]any{"networks": map[string]any{}})
		em.set("vm", "OpaqueRef:vm", map[string]any{"guest_metrics": "OpaqueRef:gm"})
		time.Sleep(10 * time.Millisecond)
		em.set("vm_guest_metrics", "OpaqueRef:gm", map[string]any{"networks": map[string]any{"0/ip": "10.0.0.7", "1/ip": "10.1.0.7"}})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := c.RoundTrips()
	ip, err := c.WaitGuestIP(ctx, "OpaqueRef:vm", "0")
	if err != nil || ip != "10.0.0.7" {
		t.Fatalf("got %q %v", ip, err)
	}
	n := len(f.callsTo("event.from"))
	if n < 2 {
		t.Fatalf("%d event.from calls: the wait did not follow events", n)
	}
	// The VM's metrics and their networks come from the events' snapshots:
	// the wait costs its event.from calls and nothing else.
	if got := c.RoundTrips() - before; got != int64(n) {
		t.Fatalf("%d round trips for %d event.from calls", got, n)
	}
	// It subscribes to its VM only, not to every VM and template.
	if got := fmt.Sprint(f.lastCall("event.from").Params[0]); got != "[vm/OpaqueRef:vm vm_guest_metrics]" {
		t.Fatalf("event.from subscribed to %s, want [vm/OpaqueRef:vm vm_guest_metrics]", got)
	}
	// A VM that is not among the current ones fails with xapi's error.
	if _, err := c.WaitGuestIP(ctx, "OpaqueRef:gone", "0"); !HasCode(err, CodeHandleInvalid) {
		t.Fatalf("waiting for a missing VM: got %v, want HANDLE_INVALID", err)
	}
}
