package xapid

import (
	"slices"
	"testing"
)

// TestHostReboot: host.reboot is refused until host.disable; a reboot
// halts every running VM, leaves dom0's switch with only the bridges of
// PIFs, ends every session, enables the host again and starts only the
// VMs marked auto_poweron in a pool that allows it.
func TestHostReboot(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	host := one(t, mustCall(t, s, "host.get_all", sess))
	pool := one(t, mustCall(t, s, "pool.get_all", sess))
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "int", "other_config": map[string]any{}}).(string)
	var vms []string
	for _, name := range []string{"domU", "autostarted"} {
		vm := newVM(t, s, sess, name)
		mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
		mustCall(t, s, "VM.start", sess, vm, false, false)
		vms = append(vms, vm)
	}
	mustCall(t, s, "VM.add_to_other_config", sess, vms[1], "auto_poweron", "true")
	mustCall(t, s, "pool.add_to_other_config", sess, pool, "auto_poweron", "true")
	pifBridges := slices.DeleteFunc(mh.Bridges(), func(b string) bool { return b == "xapi0" })

	wantErr(t, s, []string{ErrHostNotDisabled}, "host.reboot", sess, host)
	mustCall(t, s, "host.disable", sess, host)
	mustCall(t, s, "host.reboot", sess, host)
	wantErr(t, s, []string{ErrSessionInvalid, sess}, "VM.get_power_state", sess, vms[0])
	sess = mustCall(t, s, "session.login_with_password", "root", testPassword).(string)
	if en := mustCall(t, s, "host.get_enabled", sess, host); en != true {
		t.Errorf("host enabled after the reboot: %v", en)
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vms[0]); ps != "Halted" {
		t.Errorf("domU after the host's reboot: %v, want Halted", ps)
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vms[1]); ps != "Running" {
		t.Errorf("the auto_poweron VM after the host's reboot: %v, want Running", ps)
	}
	// The bridges of PIFs, and the one the autostarted VM's VIF needs.
	if got, want := mh.Bridges(), append(pifBridges, "xapi0"); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("dom0's bridges after the reboot: %v, want %v", got, want)
	}
	mustCall(t, s, "VM.hard_shutdown", sess, vms[1])
	if got := mh.Bridges(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(pifBridges))) {
		t.Errorf("dom0's bridges with no VM running: %v, want %v", got, pifBridges)
	}
}
