package xapid

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// pythonXenAPI reports whether python3 can import the stock XenAPI client
// (Debian's python3-os-xenapi installs it as os_xenapi.client.XenAPI).
func pythonXenAPI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(Python3()); err != nil {
		t.Skip("python3 not installed")
	}
	check := `try:
    import XenAPI
except ImportError:
    from os_xenapi.client import XenAPI`
	if out, err := exec.Command(Python3(), "-c", check).CombinedOutput(); err != nil {
		t.Skipf("stock XenAPI client missing (install python3-os-xenapi): %v %s", err, out)
	}
}

// listen serves s on 127.0.0.1 for the test.
func listen(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url, err := s.Listen(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// TestStockPythonClient runs testdata/scenario.py (the stock XenAPI.py)
// against the simulator and checks what it saw against real xapi's answers.
func TestStockPythonClient(t *testing.T) {
	pythonXenAPI(t)
	s, _, _ := newTestServer(t, Options{AuthFailDelay: time.Millisecond})
	url := listen(t, s)
	cmd := exec.Command(Python3(), filepath.Join("testdata", "scenario.py"), url)
	cmd.Env = append(os.Environ(), "XENLAB_TEST_PASSWORD="+testPassword) // never in argv
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scenario.py: %v\n%s", err, out)
	}
	var got struct {
		BadPassword    []string   `json:"bad_password"`
		APIVersion     string     `json:"api_version"`
		NetworkBackend string     `json:"network_backend"`
		Bridge         string     `json:"bridge"`
		Managed        *bool      `json:"managed"`
		MAC            string     `json:"mac"`
		DuplicateDev   []string   `json:"duplicate_device"`
		PowerState     string     `json:"power_state"`
		DomID          string     `json:"domid"`
		BadPowerState  []string   `json:"bad_power_state"`
		VMRef          string     `json:"vm_ref"`
		EventKeys      []string   `json:"event_keys"`
		EventOps       [][]string `json:"event_ops"`
		EventPower     []string   `json:"event_power"`
		TaskStatus     string     `json:"task_status"`
		AfterShutdown  string     `json:"after_shutdown"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("scenario output: %v\n%s", err, out)
	}
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: scenario saw %s", what, out)
		}
	}
	check("bad password", slices.Equal(got.BadPassword, []string{ErrSessionAuthenticationFailed, "root", "Authentication failure"}))
	check("API version", got.APIVersion == "2.0")
	check("network backend", got.NetworkBackend == "openvswitch")
	check("bridge", got.Bridge == "xapi0" && got.Managed == nil) // 6.2's network records have no managed
	check("MAC", validMAC(got.MAC))
	check("duplicate device", slices.Equal(got.DuplicateDev, []string{ErrDeviceAlreadyExists, "0"}))
	check("power state", got.PowerState == "Running" && got.DomID == "1")
	check("bad power state", slices.Equal(got.BadPowerState, []string{ErrVMBadPowerState, got.VMRef, "halted", "running"}))
	check("event.from struct", slices.Equal(got.EventKeys, []string{"events", "token", "valid_ref_counts"}))
	check("event ops", slices.ContainsFunc(got.EventOps, func(p []string) bool { return p[0] == "vm" && p[1] == "mod" }))
	check("event snapshot", slices.Contains(got.EventPower, "Running"))
	check("task", got.TaskStatus == "success" && got.AfterShutdown == "Halted")
}

// TestPyenvShim: Python2 passes over pyenv's shims (and only them) for the
// versions they stand for.
func TestPyenvShim(t *testing.T) {
	root := "/home/u/.pyenv"
	for _, c := range []struct {
		path string
		shim bool
	}{
		{root + "/shims/python2.7", true},
		{root + "/plugins/pyenv-virtualenv/shims/python2", true},
		{root + "/versions/2.7.18/bin/python2.7", false},
		{"/usr/bin/python2.7", false},
		{"/opt/shims/python2.7", false},
		{root + "/plugins/shims/python2.7", false},
	} {
		if got := pyenvShim(root, c.path); got != c.shim {
			t.Errorf("pyenvShim(%q, %q) = %v, want %v", root, c.path, got, c.shim)
		}
	}
	if pyenvShim("", "/shims/python2.7") {
		t.Error("without a pyenv root nothing is a shim")
	}
}
