package steps

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/localrc"
	"xenlab/scripts"
)

// dom0File is a path in the simulated dom0's file system.
func dom0File(h *sim.Host, p string) string {
	return filepath.Join(h.Dir(), "dom0", "fs", filepath.FromSlash(p))
}

// sshSessions is how many SSH sessions (commands, SFTP) host has opened.
func sshSessions(t *testing.T, host *hosts.Host) int64 {
	t.Helper()
	c, err := host.Dom0(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Sessions()
}

func TestDom0PluginsInstallsChecksAndRemoves(t *testing.T) {
	h, _, host := simLab(t)
	ctx := context.Background()
	step := &dom0Plugins{host: host}
	file := dom0File(h, PluginDir+"/netwrap")

	if done, err := step.Check(ctx); err != nil || done {
		t.Fatalf("Check on a fresh host = %v, %v; want not done", done, err)
	}
	// A fresh install: the inspecting command, then the SFTP session that
	// stats and writes (UploadBytes); no xapi call.
	before, xapiBefore := sshSessions(t, host), host.Counters().XAPIRoundTrips
	var out lines
	if err := step.Apply(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(out, "\n"), "installed "+PluginDir+"/netwrap") {
		t.Errorf("Apply said %q", out)
	}
	if n, x := sshSessions(t, host)-before, host.Counters().XAPIRoundTrips-xapiBefore; n != 2 || x != 0 {
		t.Errorf("a fresh Apply opened %d SSH sessions (want 2) and made %d xapi round trips (want 0)", n, x)
	}
	data, err := os.ReadFile(file)
	if err != nil || string(data) != string(scripts.Netwrap) {
		t.Fatalf("installed plugin differs from scripts.Netwrap (%v)", err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755", st.Mode())
	}

	// Check: one SSH command, no xapi call.
	before, xapiBefore = sshSessions(t, host), host.Counters().XAPIRoundTrips
	if done, err := step.Check(ctx); err != nil || !done {
		t.Fatalf("Check after Apply = %v, %v; want done", done, err)
	}
	if n := sshSessions(t, host) - before; n != 1 {
		t.Errorf("Check opened %d SSH sessions, want 1", n)
	}
	if n := host.Counters().XAPIRoundTrips - xapiBefore; n != 0 {
		t.Errorf("Check made %d xapi round trips, want 0", n)
	}

	// A second Apply is a no-op: it reads (one command) and writes nothing.
	st1, _ := os.Stat(file)
	before = sshSessions(t, host)
	out = nil
	if err := step.Apply(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if n := sshSessions(t, host) - before; n != 1 {
		t.Errorf("second Apply opened %d SSH sessions, want 1", n)
	}
	if st2, _ := os.Stat(file); !os.SameFile(st1, st2) || !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("second Apply rewrote the file")
	}

	// A wrong mode is repaired without a transfer.
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if done, _ := step.Check(ctx); done {
		t.Error("Check is done with mode 0644")
	}
	out = nil
	if err := step.Apply(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o755 || !strings.Contains(strings.Join(out, "\n"), "mode set to 0755") {
		t.Errorf("after Apply: mode %v, said %q", st.Mode(), out)
	}

	// An older xenlab netwrap (the marker, other content) is updated.
	older := strings.Replace(string(scripts.Netwrap), "ALLOWED_CMDS = [", "ALLOWED_CMDS = ['ls', ", 1)
	if err := os.WriteFile(file, []byte(older), 0o755); err != nil {
		t.Fatal(err)
	}
	out = nil
	if err := step.Apply(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(file); string(data) != string(scripts.Netwrap) || !strings.Contains(strings.Join(out, "\n"), "updated") {
		t.Errorf("an older xenlab netwrap was not updated: said %q", out)
	}

	// Destroy removes it, with an interrupted upload's leftover; twice is fine.
	leftover := dom0File(h, PluginDir+"/.netwrap.xenlab-0123456789ab")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = nil
	for range 2 {
		if err := step.Destroy(ctx, &out); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{file, leftover} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s still there after Destroy (%v)", f, err)
		}
	}
	if done, err := step.Check(ctx); err != nil || done {
		t.Fatalf("Check after Destroy = %v, %v", done, err)
	}
	if c := host.Counters(); c.SSHHandshakes != 1 {
		t.Errorf("%d SSH handshakes, want 1", c.SSHHandshakes)
	}
}

// A netwrap xenlab did not install (here neutron-shaped: no marker) is
// neither replaced by Apply nor removed by Destroy.
func TestDom0PluginsLeavesAForeignNetwrapAlone(t *testing.T) {
	h, _, host := simLab(t)
	ctx := context.Background()
	step := &dom0Plugins{host: host}
	file := dom0File(h, PluginDir+"/netwrap")
	foreign := "#!/usr/bin/env python\n# XenAPI plugin for executing network commands (ovs, iptables, etc) on dom0\n" +
		"ALLOWED_CMDS = ['ip', 'ovs-ofctl', 'ovs-vsctl']\n"
	if err := os.WriteFile(file, []byte(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if done, err := step.Check(ctx); err != nil || done {
		t.Fatalf("Check with a foreign netwrap = %v, %v; want not done", done, err)
	}
	err := step.Apply(ctx, &lines{})
	if err == nil || !strings.Contains(err.Error(), "xenlab did not install") || !strings.Contains(err.Error(), "mv "+PluginDir+"/netwrap") {
		t.Fatalf("Apply over a foreign netwrap: %v; want a refusal saying how to move it away", err)
	}
	var out lines
	if err := step.Destroy(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != foreign {
		t.Fatalf("the foreign netwrap changed: %q, %v", data, err)
	}
	if !strings.Contains(strings.Join(out, "\n"), "left "+PluginDir+"/netwrap alone") {
		t.Errorf("Destroy said %q", out)
	}
}

func TestDom0PluginsRefusesAHostWithoutPluginDir(t *testing.T) {
	h, _, host := simLab(t)
	if err := os.Remove(dom0File(h, PluginDir)); err != nil {
		t.Fatal(err)
	}
	step := &dom0Plugins{host: host}
	err := step.Apply(context.Background(), &lines{})
	if err == nil || !strings.Contains(err.Error(), "no "+PluginDir) {
		t.Fatalf("Apply = %v, want a refusal naming %s", err, PluginDir)
	}
	if err := step.Destroy(context.Background(), &lines{}); err != nil {
		t.Fatalf("Destroy with nothing to undo: %v", err)
	}
}

// pythonXenAPI skips unless /usr/bin/python3 (else python3) can import the
// stock XenAPI client, Debian's python3-os-xenapi.
func pythonXenAPI(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 is not installed")
		}
	}
	if out, err := exec.Command(py, "-c", "from os_xenapi.client import XenAPI").CombinedOutput(); err != nil {
		t.Skipf("the stock XenAPI client is missing (install python3-os-xenapi): %v %s", err, out)
	}
	return py
}

type pluginCall struct {
	Fn   string            `json:"fn"`
	Args map[string]string `json:"args"`
}

type pluginResult struct {
	Value   *string  `json:"value"`
	Failure []string `json:"failure"`
}

// callNetwrap makes the calls through host.call_plugin with the stock
// XenAPI.py client (testdata/netwrap_client.py) against the simulated host.
func callNetwrap(t *testing.T, py string, cfg *localrc.Config, calls []pluginCall) []pluginResult {
	t.Helper()
	in, _ := json.Marshal(calls)
	cmd := exec.Command(py, filepath.Join("testdata", "netwrap_client.py"), cfg.Hosts[0].XAPIURL)
	cmd.Env = append(os.Environ(), "XENLAB_TEST_PASSWORD="+cfg.Hosts[0].XAPIPassword.Reveal())
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("netwrap_client.py: %v\n%s", err, stderr)
	}
	var res []pluginResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(calls) {
		t.Fatalf("netwrap_client.py printed %s (%v)", out, err)
	}
	return res
}

func cmdArg(words ...string) string {
	b, _ := json.Marshal(words)
	return string(b)
}

func inputArg(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestNetwrapThroughCallPlugin installs the plugin with the step, then runs
// what neutron-rootwrap-xen-dom0 sends, through host.call_plugin with the
// stock XenAPI.py client, under the interpreter the simulated dom0 gives
// plugins: a command, stdin, a refused command and a failing one, in both
// of the plugin's contracts; the effects are read back over SSH.
func TestNetwrapThroughCallPlugin(t *testing.T) {
	t.Parallel() // a simulated host of its own
	py := pythonXenAPI(t)
	_, cfg, host := simLab(t)
	ctx := context.Background()
	if err := (&dom0Plugins{host: host}).Apply(ctx, &lines{}); err != nil {
		t.Fatal(err)
	}
	flow := "priority=3,in_port=1,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"
	calls := []pluginCall{
		{"run_command", map[string]string{"cmd": cmdArg("ovs-vsctl", "--may-exist", "add-br", "br-nw")}},
		{"run_command", map[string]string{"cmd": cmdArg("ovs-vsctl", "show"), "cmd_input": "null"}},
		{"run_command", map[string]string{"cmd": cmdArg("ovs-ofctl", "add-flows", "br-nw", "-"), "cmd_input": inputArg(flow + "\n")}},
		{"run_command", map[string]string{"cmd": cmdArg("ovs-ofctl", "dump-flows", "br-nw")}},
		{"run_command", map[string]string{"cmd": cmdArg("rm", "-rf", "/etc")}},
		{"run_command", map[string]string{"cmd": cmdArg("ovs-vsctl", "del-br", "br-nope")}},
		{"run_command_status", map[string]string{"cmd": cmdArg("ovs-vsctl", "del-br", "br-nope"), "cmd_input": "null"}},
		{"run_command_status", map[string]string{"cmd": cmdArg("ovs-vsctl", "br-exists", "br-nw")}},
		{"run_command_status", map[string]string{"cmd": cmdArg("ovs-appctl", "version")}},
		{"run_command_status", map[string]string{"cmd": cmdArg("cat", "/etc/shadow")}},
	}
	res := callNetwrap(t, py, cfg, calls)
	value := func(i int) string {
		t.Helper()
		if res[i].Value == nil {
			t.Fatalf("call %d %v: failure %q", i, calls[i], res[i].Failure)
		}
		return *res[i].Value
	}
	str := func(i int) string {
		t.Helper()
		var s string
		if err := json.Unmarshal([]byte(value(i)), &s); err != nil {
			t.Fatalf("call %d: %q is not a JSON string", i, value(i))
		}
		return s
	}
	status := func(i int) (int, string, string) {
		t.Helper()
		var r struct {
			Returncode int    `json:"returncode"`
			Out        string `json:"out"`
			Err        string `json:"err"`
		}
		if err := json.Unmarshal([]byte(value(i)), &r); err != nil {
			t.Fatalf("call %d: %q is not {returncode, out, err}", i, value(i))
		}
		return r.Returncode, r.Out, r.Err
	}
	if got := str(0); got != "" {
		t.Errorf("add-br printed %q", got)
	}
	if got := str(1); !strings.Contains(got, `Bridge br-nw`) && !strings.Contains(got, `Bridge "br-nw"`) {
		t.Errorf("show: %q", got)
	}
	if got := str(3); !strings.Contains(got, "dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL") {
		t.Errorf("the flow given on stdin is not in dump-flows: %q", got)
	}
	if want := []string{"XENAPI_PLUGIN_FAILURE", "run_command", "PluginError", "Dom0 execution of 'rm' is not permitted"}; !slices.Equal(res[4].Failure, want) {
		t.Errorf("rm: %q, %v; want failure %q", res[4].Failure, res[4].Value, want)
	}
	if want := []string{"XENAPI_PLUGIN_FAILURE", "run_command", "PluginError", "ovs-vsctl: no bridge named br-nope\n"}; !slices.Equal(res[5].Failure, want) {
		t.Errorf("failing command: %q; want failure %q", res[5].Failure, want)
	}
	if rc, out, errOut := status(6); rc != 1 || out != "" || errOut != "ovs-vsctl: no bridge named br-nope\n" {
		t.Errorf("status of a failing command: %d %q %q", rc, out, errOut)
	}
	if rc, _, _ := status(7); rc != 0 {
		t.Errorf("br-exists br-nw: %d", rc)
	}
	if rc, out, _ := status(8); rc != 0 || !strings.Contains(out, "Open vSwitch") {
		t.Errorf("ovs-appctl version: %d %q", rc, out)
	}
	if want := []string{"XENAPI_PLUGIN_FAILURE", "run_command_status", "PluginError", "Dom0 execution of 'cat' is not permitted"}; !slices.Equal(res[9].Failure, want) {
		t.Errorf("cat: %q; want failure %q", res[9].Failure, want)
	}

	// The bridge and the flow are on dom0's switch, as a shell there sees it.
	dom0, err := host.Dom0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dom0.Run(ctx, "ovs-vsctl list-br; ovs-ofctl dump-flows br-nw")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Stdout); !strings.Contains(got, "br-nw\n") || !strings.Contains(got, "mod_vlan_vid:1") {
		t.Errorf("dom0's switch: %q", got)
	}
}
