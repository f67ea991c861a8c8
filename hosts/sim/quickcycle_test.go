package sim

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
)

// switchDaemons returns the pids of this process's children that are
// Open vSwitch daemons (a real switch starts ovsdb-server and ovs-vswitchd
// as its own children).
func switchDaemons() map[string]bool {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	out := map[string]bool{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		j := strings.IndexByte(st, '(')
		if i < 0 || j < 0 {
			continue
		}
		comm, f := st[j+1:i], strings.Fields(st[i+1:])
		if len(f) > 1 && f[1] == me && (comm == "ovsdb-server" || comm == "ovs-vswitchd") {
			out[e.Name()] = true
		}
	}
	return out
}

// guestSwitchProcs counts the switch daemons not in base (dom0's).
func guestSwitchProcs(base map[string]bool) int {
	n := 0
	for pid := range switchDaemons() {
		if !base[pid] {
			n++
		}
	}
	return n
}

// TestQuickStartStopLeavesNoGuestDaemons starts a VM and hard-shuts it
// down at once, several times, with real Open vSwitch (whose daemons take
// a while to start), then counts the guest switch processes left: none,
// once the VM is halted and the boots in flight are over.
func TestQuickStartStopLeavesNoGuestDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: real Open vSwitch switches start slowly")
	}
	if err := ovs.RealAvailable(); err != nil {
		t.Skipf("real Open vSwitch cannot run here: %v", err)
	}
	const cycles = 5
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeReal, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pw, err := os.ReadFile(h.Endpoints().PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	call := func(m string, p ...any) any {
		t.Helper()
		v, err := h.xapi.Call(ctx, m, p...)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		return v
	}
	sess := call("session.login_with_password", "root", string(pw)).(string)
	tpl := call("VM.get_by_name_label", sess, xapid.DevstackTemplateName).([]string)[0]
	vm := call("VM.clone", sess, tpl, "quick").(string)
	call("VM.set_is_a_template", sess, vm, false)
	net := call("network.get_all", sess).([]string)[0]
	call("VIF.create", sess, map[string]any{"device": "0", "network": net, "VM": vm, "MAC": "",
		"MTU": "1500", "other_config": map[string]any{}, "qos_algorithm_type": "", "qos_algorithm_params": map[string]any{}})
	base := switchDaemons()
	if len(base) != 2 {
		t.Fatalf("dom0's switch: %d daemons, want ovsdb-server and ovs-vswitchd", len(base))
	}
	for i := range cycles {
		call("VM.start", sess, vm, false, false)
		if i%2 == 1 {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond) // some stops land later in the boot
		}
		call("VM.hard_shutdown", sess, vm)
	}
	// The boots in flight end within the time an Open vSwitch start takes.
	left := 0
	for n := 0; n < 100; n++ {
		if left = guestSwitchProcs(base); left == 0 && n >= 10 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.mu.Lock()
	running := len(h.guests)
	h.mu.Unlock()
	if running != 0 {
		t.Errorf("%d guests still running (switch and SSH server) after %d quick start/stop cycles of a halted VM", running, cycles)
	}
	if left != 0 {
		t.Errorf("%d guest switch processes left after %d quick start/stop cycles of a halted VM", left, cycles)
	}
}
