package xapid

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoginAndSession(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	wantErr(t, s, []string{ErrSessionAuthenticationFailed, "root", "Authentication failure"},
		"session.login_with_password", "root", "wrong")
	wantErr(t, s, []string{ErrSessionAuthenticationFailed, "admin", "Authentication failure"},
		"session.login_with_password", "admin", testPassword, "1.0", "test")
	wantErr(t, s, []string{ErrSessionInvalid, "OpaqueRef:nope"}, "VM.get_all", "OpaqueRef:nope")
	wantErr(t, s, []string{ErrMessageMethodUnknown, "VM.frobnicate"}, "VM.frobnicate", sess)
	wantErr(t, s, []string{ErrMessageMethodUnknown, "Async.event.from"}, "Async.event.from", sess, []any{}, "", 0.0)
	wantErr(t, s, []string{ErrMessageParameterCount, "VM.get_record", "1", "0"}, "VM.get_record", sess)
	wantErr(t, s, []string{ErrHandleInvalid, "VM", "OpaqueRef:x"}, "VM.get_record", sess, "OpaqueRef:x")
	wantErr(t, s, []string{ErrUUIDInvalid, "VM", "no-such"}, "VM.get_by_uuid", sess, "no-such")

	pool := one(t, mustCall(t, s, "pool.get_all", sess))
	host := mustCall(t, s, "pool.get_master", sess, pool).(string)
	if host != s.HostRef() || mustCall(t, s, "session.get_this_host", sess, sess) != host {
		t.Fatalf("pool master %s, this host %s", host, s.HostRef())
	}
	if v := mustCall(t, s, "host.get_API_version_major", sess, host); v != int64(2) {
		t.Fatalf("API major %v", v)
	}
	sv := mustCall(t, s, "host.get_software_version", sess, host).(map[string]string)
	if sv["network_backend"] != "openvswitch" || sv["product_version"] != "6.2.0" {
		t.Fatalf("software_version %v", sv)
	}
	mustCall(t, s, "session.logout", sess)
	wantErr(t, s, []string{ErrSessionInvalid, sess}, "pool.get_all", sess)
}

// TestNetworkSemantics runs on 8.2, where network.create takes a bridge
// and managed (TestNetworkCreateBridgeByRelease: not before 7.2).
func TestNetworkSemantics(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{Seed: Seed{Version: "8.2"}})
	mk := func(name string) string {
		return mustCall(t, s, "network.create", sess, map[string]any{
			"name_label": name, "name_description": "", "MTU": "1500", "other_config": map[string]any{}}).(string)
	}
	n0, n1 := mk("OpenStack VM Network"), mk("OpenStack Public Network")
	if b := mustCall(t, s, "network.get_bridge", sess, n0); b != "xapi0" {
		t.Fatalf("first bridge %v", b)
	}
	if b := mustCall(t, s, "network.get_bridge", sess, n1); b != "xapi1" {
		t.Fatalf("second bridge %v", b)
	}
	if slices.Contains(mh.Bridges(), "xapi0") {
		t.Fatal("network.create must not create the bridge")
	}
	if got := mustCall(t, s, "network.get_managed", sess, n0); got != true {
		t.Fatalf("managed %v", got)
	}
	for _, tc := range []struct {
		bridge string
		want   []string
	}{
		{"xenbr0", []string{ErrInvalidValue, "bridge", "xenbr0"}},
		{"averyveryverylongname", []string{ErrInvalidValue, "bridge", "averyveryverylongname"}},
	} {
		wantErr(t, s, tc.want, "network.create", sess, map[string]any{"name_label": "x", "bridge": tc.bridge,
			"other_config": map[string]any{}})
	}
	mustCall(t, s, "network.create", sess, map[string]any{"name_label": "mine", "bridge": "br-mine", "other_config": map[string]any{}})
	wantErr(t, s, []string{ErrBridgeNameExists, "br-mine"}, "network.create", sess,
		map[string]any{"name_label": "again", "bridge": "br-mine", "other_config": map[string]any{}})

	mustCall(t, s, "network.add_to_other_config", sess, n0, "xenlab-lab", "demo")
	wantErr(t, s, []string{ErrMapDuplicateKey, "network", "other_config", n0, "xenlab-lab"},
		"network.add_to_other_config", sess, n0, "xenlab-lab", "again")
	if oc := mustCall(t, s, "network.get_other_config", sess, n0).(map[string]string); oc["xenlab-lab"] != "demo" {
		t.Fatalf("other_config %v", oc)
	}
	if got := mustCall(t, s, "network.get_by_name_label", sess, "OpenStack VM Network").([]string); !slices.Equal(got, []string{n0}) {
		t.Fatalf("by name %v", got)
	}

	// network.attach creates the bridge; unmanaged needs an existing one.
	mustCall(t, s, "network.attach", sess, n1, s.HostRef())
	if !slices.Contains(mh.Bridges(), "xapi1") {
		t.Fatalf("attach did not create the bridge: %v", mh.Bridges())
	}
	un := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "u", "bridge": "br-none",
		"managed": false, "other_config": map[string]any{}}).(string)
	wantErr(t, s, []string{ErrBridgeNotAvailable, "br-none"}, "network.attach", sess, un, s.HostRef())

	mgmt := one(t, mustCall(t, s, "network.get_by_name_label", sess, ManagementNetworkName))
	pif := one(t, mustCall(t, s, "network.get_PIFs", sess, mgmt))
	wantErr(t, s, []string{ErrNetworkContainsPIF, pif}, "network.destroy", sess, mgmt)
	if mustCall(t, s, "host.get_management_interface", sess, s.HostRef()) != pif {
		t.Fatal("management interface")
	}
	mustCall(t, s, "network.destroy", sess, n0)
	wantErr(t, s, []string{ErrHandleInvalid, "network", n0}, "network.get_record", sess, n0)
}

// newVM clones the Ubuntu template into a halted VM.
func newVM(t *testing.T, s *Server, sess, name string) string {
	t.Helper()
	tpl := one(t, mustCall(t, s, "VM.get_by_name_label", sess, UbuntuTemplateName))
	vm := mustCall(t, s, "VM.clone", sess, tpl, name).(string)
	mustCall(t, s, "VM.provision", sess, vm)
	mustCall(t, s, "VM.set_is_a_template", sess, vm, false)
	return vm
}

func vifArgs(vm, net, device string) map[string]any {
	return map[string]any{"device": device, "network": net, "VM": vm, "MAC": "", "MTU": "1500",
		"other_config": map[string]any{}, "qos_algorithm_type": "", "qos_algorithm_params": map[string]any{},
		"locking_mode": "network_default"}
}

func TestVIFAndPowerSemantics(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "int", "other_config": map[string]any{}}).(string)
	vm := newVM(t, s, sess, "domU")
	if len(mustCall(t, s, "VM.get_VBDs", sess, vm).([]string)) != 1 {
		t.Fatal("provision made no disk")
	}
	vif := mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0")).(string)
	mac := mustCall(t, s, "VIF.get_MAC", sess, vif).(string)
	if !validMAC(mac) {
		t.Fatalf("generated MAC %q", mac)
	}
	for _, tc := range []struct {
		device, mac string
		want        []string
	}{
		{"0", "", []string{ErrDeviceAlreadyExists, "0"}},
		{"eth1", "", []string{ErrInvalidDevice, "eth1"}},
		{"2", "zz:00", []string{ErrMACInvalid, "zz:00"}},
	} {
		a := vifArgs(vm, net, tc.device)
		a["MAC"] = tc.mac
		wantErr(t, s, tc.want, "VIF.create", sess, a)
	}
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "running", "halted"}, "VIF.plug", sess, vif)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "running", "halted"}, "VM.clean_shutdown", sess, vm)

	mustCall(t, s, "VM.start", sess, vm, false, false)
	domid := mustCall(t, s, "VM.get_domid", sess, vm).(int64)
	port := fmt.Sprintf("vif%d.0", domid)
	ids, ok := mh.Port("xapi0", port)
	vifUUID := mustCall(t, s, "VIF.get_uuid", sess, vif)
	if !ok || ids["xs-vif-uuid"] != vifUUID || ids["attached-mac"] != mac {
		t.Fatalf("port %s on xapi0: %v %v (bridges %v)", port, ok, ids, mh.Bridges())
	}
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "halted", "running"}, "VM.start", sess, vm, false, false)
	wantErr(t, s, []string{ErrVMBadPowerState, vm, "halted, suspended", "running"}, "VM.destroy", sess, vm)
	wantErr(t, s, []string{ErrDeviceAlreadyAttached, vif}, "VIF.plug", sess, vif)
	wantErr(t, s, []string{ErrOperationNotAllowed, "VIF currently attached to a running VM"}, "VIF.destroy", sess, vif)
	wantErr(t, s, []string{ErrNetworkContainsVIF, vif}, "network.destroy", sess, net)

	waitFor(t, "guest metrics", func() bool {
		gm := mustCall(t, s, "VM.get_guest_metrics", sess, vm).(string)
		if gm == NullRef {
			return false
		}
		nets := mustCall(t, s, "VM_guest_metrics.get_networks", sess, gm).(map[string]string)
		return nets["0/ip"] == fmt.Sprintf("10.0.0.%d", domid)
	})

	mustCall(t, s, "VIF.unplug", sess, vif)
	wantErr(t, s, []string{ErrDeviceAlreadyDetached, vif}, "VIF.unplug", sess, vif)
	if slices.Contains(mh.Bridges(), "xapi0") {
		t.Fatalf("bridge of the last VIF must go: %v", mh.Bridges())
	}
	mustCall(t, s, "VIF.plug", sess, vif)
	if _, ok := mh.Port("xapi0", port); !ok {
		t.Fatal("replug lost the port")
	}
	mustCall(t, s, "VM.clean_shutdown", sess, vm)
	if slices.Contains(mh.Bridges(), "xapi0") || len(mh.Guests()) != 0 {
		t.Fatalf("after shutdown: bridges %v guests %v", mh.Bridges(), mh.Guests())
	}
	if gm := mustCall(t, s, "VM.get_guest_metrics", sess, vm); gm != NullRef {
		t.Fatalf("guest metrics after halt %v", gm)
	}

	// blocked_operations first, then the rest, in xapi's order.
	mustCall(t, s, "VM.add_to_blocked_operations", sess, vm, "start", "locked by test")
	wantErr(t, s, []string{ErrOperationBlocked, vm, "locked by test"}, "VM.start", sess, vm, false, false)
	mustCall(t, s, "VM.remove_from_blocked_operations", sess, vm, "start")

	tpl := one(t, mustCall(t, s, "VM.get_by_name_label", sess, UbuntuTemplateName))
	wantErr(t, s, []string{ErrVMIsTemplate, tpl, "start"}, "VM.start", sess, tpl, false, false)
	wantErr(t, s, []string{ErrVMIsTemplate, tpl, "destroy"}, "VM.destroy", sess, tpl)
	wantErr(t, s, []string{ErrOnlyProvisionTemplate}, "VM.provision", sess, vm)
	wantErr(t, s, []string{ErrOnlyRevertSnapshot}, "VM.revert", sess, vm)
	wantErr(t, s, []string{ErrMemoryConstraintViolation, memoryRule}, "VM.set_memory_limits", sess, vm,
		"1073741824", "536870912", "1073741824", "1073741824")
	mustCall(t, s, "VM.set_memory_limits", sess, vm, "268435456", "3221225472", "3221225472", "3221225472")

	// network.destroy removes unattached VIF records silently.
	mustCall(t, s, "network.destroy", sess, net)
	if vifs := mustCall(t, s, "VM.get_VIFs", sess, vm).([]string); len(vifs) != 0 {
		t.Fatalf("VIFs left %v", vifs)
	}
	mustCall(t, s, "VM.destroy", sess, vm)
	wantErr(t, s, []string{ErrHandleInvalid, "VM", vm}, "VM.get_record", sess, vm)
}

func TestSnapshotRevert(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	vm := newVM(t, s, sess, "domU")
	vif := mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0")).(string)
	mac := mustCall(t, s, "VIF.get_MAC", sess, vif)
	mustCall(t, s, "VM.set_PV_args", sess, vm, "before")
	snap := mustCall(t, s, "VM.snapshot", sess, vm, "before_first_boot").(string)
	if got := mustCall(t, s, "VM.get_snapshots", sess, vm).([]string); !slices.Equal(got, []string{snap}) {
		t.Fatalf("snapshots %v", got)
	}
	wantErr(t, s, []string{ErrVMIsSnapshot, snap, "start"}, "VM.start", sess, snap, false, false)
	mustCall(t, s, "VM.set_PV_args", sess, vm, "after")
	mustCall(t, s, "VM.start", sess, vm, false, false)
	mustCall(t, s, "VM.revert", sess, snap)
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Halted" {
		t.Fatalf("after revert %v", ps)
	}
	if a := mustCall(t, s, "VM.get_PV_args", sess, vm); a != "before" {
		t.Fatalf("PV_args %v", a)
	}
	vifs := mustCall(t, s, "VM.get_VIFs", sess, vm).([]string)
	if len(vifs) != 1 || mustCall(t, s, "VIF.get_MAC", sess, vifs[0]) != mac {
		t.Fatalf("VIFs after revert %v", vifs)
	}
	if len(mh.Bridges()) != 1 { // only xenbr0
		t.Fatalf("bridges %v", mh.Bridges())
	}
	clone := mustCall(t, s, "VM.clone", sess, vm, "c").(string)
	cv := mustCall(t, s, "VM.get_VIFs", sess, clone).([]string)
	if len(cv) != 1 || mustCall(t, s, "VIF.get_MAC", sess, cv[0]) == mac {
		t.Fatal("clone must get a new MAC")
	}
	if !strings.HasPrefix(clone, "OpaqueRef:") {
		t.Fatal(clone)
	}
}

func TestEventRegisterNext(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	wantErr(t, s, []string{"SESSION_NOT_REGISTERED", sess}, "event.next", sess)
	mustCall(t, s, "event.register", sess, []any{"network"})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	mustCall(t, s, "VM.get_all", sess) // no event
	evs := mustCall(t, s, "event.next", sess).([]any)
	e := evs[0].(map[string]any)
	if len(evs) != 1 || e["ref"] != net || e["operation"] != "add" || e["class"] != "network" || e["obj_uuid"] == "" {
		t.Fatalf("events %v", evs)
	}
}

// TestFailedCallReleasesTheDatabase: a call that fails while it holds the
// database lock (VM.start_on on a bad host) must leave the server usable.
func TestFailedCallReleasesTheDatabase(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	vm := newVM(t, s, sess, "domU")
	wantErr(t, s, []string{ErrHandleInvalid, "host", "OpaqueRef:nohost"}, "VM.start_on", sess, vm, "OpaqueRef:nohost", false, false)
	done := make(chan error, 1)
	go func() {
		_, err := s.Call(t.Context(), "VM.start_on", sess, vm, s.HostRef(), false, false)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server hangs after a failed VM.start_on: its database lock was not released")
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Running" {
		t.Fatalf("power %v", ps)
	}
}

// TestGenMACIsXapis pins genMAC to xapi's gen_mac (xapi_vif_helpers.ml:
// 2×device MD5 rounds of the seed, one more, then bytes 0-3 of that and
// 1-2 of its MD5, locally administered unicast), computed independently.
func TestGenMACIsXapis(t *testing.T) {
	const seed = "c2b1a5e0-0000-4000-8000-000000000001"
	for dev, want := range map[string]string{"0": "a6:a0:19:01:18:a6", "1": "1e:e0:f7:05:80:6b", "3": "ce:d0:19:98:1d:ce"} {
		if got := genMAC(dev, seed); got != want {
			t.Errorf("device %s: %s, want %s", dev, got, want)
		}
	}
}

// TestNetworkCreateBridgeByRelease: before Falcon (7.2) network.create has
// no bridge nor managed parameter (xen-api ocaml/xapi/xapi_network.ml
// create at XS62 and v1.14.0, 7.1's xapi): a record's bridge and managed
// are not read; from 7.2 on they are (v1.249.0).
func TestNetworkCreateBridgeByRelease(t *testing.T) {
	for _, tc := range []struct {
		version string
		honours bool
	}{{"6.2", false}, {"7.1", false}, {"8.2", true}} {
		t.Run(tc.version, func(t *testing.T) {
			s, _, sess := newTestServer(t, Options{Seed: Seed{Version: tc.version}})
			n := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "mine", "bridge": "br-mine",
				"managed": false, "other_config": map[string]any{}}).(string)
			b := mustCall(t, s, "network.get_bridge", sess, n)
			if tc.honours {
				if m := mustCall(t, s, "network.get_managed", sess, n); b != "br-mine" || m != false {
					t.Fatalf("bridge %v managed %v, want br-mine, false", b, m)
				}
				return
			}
			if b != "xapi0" {
				t.Fatalf("bridge %v, want xapi0 (the record's bridge ignored)", b)
			}
			// Nor has the network a managed field before 7.2.
			wantErr(t, s, []string{ErrMessageMethodUnknown, "network.get_managed"}, "network.get_managed", sess, n)
		})
	}
}

// bridgeCounter is a MemHost that counts the bridges it is asked to make.
type bridgeCounter struct {
	*MemHost
	mu   sync.Mutex
	made map[string]int
}

func (b *bridgeCounter) EnsureBridge(ctx context.Context, bridge string) error {
	b.mu.Lock()
	b.made[bridge]++
	b.mu.Unlock()
	return b.MemHost.EnsureBridge(ctx, bridge)
}

// TestVIFPlugMakesOnlyInternalBridges: starting a VM makes the bridge of
// its internal network's VIF, and leaves the management bridge, whose PIF
// is attached, as xapi's attach_internal does (XS62 xapi_network.ml).
func TestVIFPlugMakesOnlyInternalBridges(t *testing.T) {
	bc := &bridgeCounter{MemHost: NewMemHost(t.TempDir()), made: map[string]int{}}
	s, _, sess := newTestServer(t, Options{Host: bc})
	mgmt := one(t, mustCall(t, s, "network.get_by_name_label", sess, ManagementNetworkName))
	internal := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "int", "other_config": map[string]any{}}).(string)
	bridge := mustCall(t, s, "network.get_bridge", sess, internal).(string)
	vm := newVM(t, s, sess, "domU")
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, mgmt, "0"))
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, internal, "1"))
	bc.mu.Lock()
	before := maps.Clone(bc.made)
	bc.mu.Unlock()
	mustCall(t, s, "VM.start", sess, vm, false, false)
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if n := bc.made[ManagementBridge] - before[ManagementBridge]; n != 0 {
		t.Errorf("VM.start made the management bridge %d times, want 0 (its PIF is attached)", n)
	}
	if n := bc.made[bridge] - before[bridge]; n != 1 {
		t.Errorf("VM.start made the internal bridge %s %d times, want 1", bridge, n)
	}
}
