package ovs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func openRealT(t *testing.T) *realSwitch {
	t.Helper()
	if err := RealAvailable(); err != nil {
		t.Skipf("needs real Open vSwitch: %v", err)
	}
	sw, err := Open(context.Background(), t.TempDir(), ModeReal)
	if err != nil {
		t.Fatalf("open real switch: %v", err)
	}
	t.Cleanup(func() { sw.Close() })
	return sw.(*realSwitch)
}

// namedNetns lists the machine's named network namespaces.
func namedNetns(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

// netnsOf is the network namespace of process pid.
func netnsOf(t *testing.T, pid string) string {
	t.Helper()
	ns, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestRealCloseStopsEverything checks that ovs-vswitchd runs in a network
// namespace of its own and that Close leaves no daemon, no namespace and
// no run files behind.
func TestRealCloseStopsEverything(t *testing.T) {
	if err := RealAvailable(); err != nil {
		t.Skipf("needs real Open vSwitch: %v", err)
	}
	namedBefore := namedNetns(t)
	sw := openRealT(t)
	if sw.Mode() != ModeReal {
		t.Fatalf("Mode() = %s", sw.Mode())
	}
	must(t, sw, "ovs-vsctl add-br br0 -- add-port br0 p0 -- set Interface p0 type=internal")
	var pids []int
	for _, d := range sw.daemons {
		pids = append(pids, d.cmd.Process.Pid)
	}
	if len(pids) != 2 {
		t.Fatalf("daemons = %d, want ovsdb-server and ovs-vswitchd", len(pids))
	}
	ns := netnsOf(t, strconv.Itoa(pids[1]))
	if ns == netnsOf(t, "self") {
		t.Fatalf("ovs-vswitchd runs in the machine's network namespace %s", ns)
	}
	if err := sw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
	// The namespace had no name and no holder but ovs-vswitchd, which is
	// gone; no named one may have been made either.
	if got := namedNetns(t); got != namedBefore {
		t.Errorf("named network namespaces changed: before Open %q, after Close %q", namedBefore, got)
	}
	for _, p := range []string{sw.runDir, sw.binDir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after Close: %v", p, err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRealHostsAreIsolated gives two hosts bridges, internal ports and
// links (AddLink) of the same names: each lives in its own namespace, so
// both open, and the machine's own namespace gets no device.
func TestRealHostsAreIsolated(t *testing.T) {
	a, b := openRealT(t), openRealT(t)
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	br, port, link := "xlb"+hex.EncodeToString(rnd[:]), "xlp"+hex.EncodeToString(rnd[:]), "xlt"+hex.EncodeToString(rnd[:])
	for _, sw := range []*realSwitch{a, b} {
		if err := sw.AddLink(context.Background(), link); err != nil {
			t.Fatal(err)
		}
		must(t, sw, "ovs-vsctl add-br "+br+" -- add-port "+br+" "+port+" -- set Interface "+port+" type=internal")
		if got := must(t, sw, "ovs-vsctl get Interface "+port+" ofport"); got != "1\n" {
			t.Errorf("ofport of %s = %q, want 1", port, got)
		}
	}
	for _, dev := range []string{br, port, link} {
		if out, err := exec.Command("ip", "link", "show", dev).CombinedOutput(); err == nil {
			t.Errorf("device %s exists in the machine's namespace: %s", dev, out)
		}
	}
	if got := must(t, a, "ovs-vsctl --db=unix:/var/run/openvswitch/db.sock list-br"); got != br+"\n" {
		t.Errorf("--db was not confined to the host: list-br = %q", got)
	}
}

func TestOpenAutoPrefersReal(t *testing.T) {
	sw, err := Open(context.Background(), t.TempDir(), ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	want := ModeModel
	if RealAvailable() == nil {
		want = ModeReal
	}
	if sw.Mode() != want {
		t.Errorf("auto mode gave %s, want %s", sw.Mode(), want)
	}
}

// TestLongDirectory opens switches in a directory too long for unix
// sockets: their sockets move to a short directory, the tools still work,
// and Close removes both.
func TestLongDirectory(t *testing.T) {
	for _, mode := range []Mode{ModeModel, ModeReal} {
		t.Run(string(mode), func(t *testing.T) {
			if mode == ModeReal && RealAvailable() != nil {
				t.Skipf("needs real Open vSwitch: %v", RealAvailable())
			}
			dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 40))
			sw, err := Open(context.Background(), dir, mode)
			if err != nil {
				t.Fatal(err)
			}
			defer sw.Close()
			cmd := exec.Command("/bin/sh", "-c", "ovs-vsctl add-br br-int && ovs-ofctl dump-flows br-int")
			cmd.Env = []string{"PATH=" + sw.BinDir() + ":/usr/bin:/bin"}
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "priority=0 actions=NORMAL") {
				t.Fatalf("tools in a long directory: %v: %s", err, out)
			}
			short, err := filepath.EvalSymlinks(filepath.Join(dir, "run"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{short, filepath.Join(dir, "run")} {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%s left after Close: %v", p, err)
				}
			}
		})
	}
}

// TestDirectToolsRunInTheCaller: a real switch's ovs-ofctl and ovs-vsctl
// run the real tool in the shell that calls them (its working directory:
// add-flows reads a relative file, which the simulator, in a directory of
// its own, would not find), while an ovs-vsctl add-br still goes through
// the simulator and gets the userspace datapath (the bridge answers
// OpenFlow), and --db never leaves this switch.
func TestDirectToolsRunInTheCaller(t *testing.T) {
	sw := openRealT(t)
	for _, tool := range []string{"ovs-ofctl", "ovs-vsctl"} {
		b, err := os.ReadFile(filepath.Join(sw.BinDir(), tool))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "#!/bin/sh\n") {
			t.Errorf("%s is not the direct tool: %.60q", tool, b)
		}
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "flows"), []byte("priority=7,dl_vlan=7,actions=drop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "ovs-vsctl add-br br0 && ovs-vsctl get Bridge br0 datapath_type && "+
		"ovs-ofctl add-flows br0 flows && ovs-ofctl dump-flows --no-stats br0 && ovs-vsctl --db=unix:/nonexistent list-br")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + sw.BinDir() + ":/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"netdev\n", "priority=7,dl_vlan=7 actions=drop", "\nbr0\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDirectToolsKeepToTheirSwitch: a --db among a host's ovs-vsctl's
// global options, after one whose value is the next word, still reaches
// only the host's own switch (here, another switch stands for this
// machine's own Open vSwitch).
func TestDirectToolsKeepToTheirSwitch(t *testing.T) {
	sw, other := openRealT(t), openRealT(t)
	must(t, other, "ovs-vsctl add-br elsewhere")
	must(t, sw, "ovs-vsctl add-br here")
	db := "unix:" + filepath.Join(other.runDir, "db.sock")
	for _, line := range []string{
		"ovs-vsctl -t 5 --db=" + db + " list-br",
		"ovs-vsctl --timeout 5 --db " + db + " list-br",
		"ovs-vsctl -f table --db=" + db + " list-br",
	} {
		cmd := exec.Command("/bin/sh", "-c", line)
		cmd.Env = []string{"PATH=" + sw.BinDir() + ":/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "here\n" {
			t.Errorf("%s: %v: %q, want this switch's bridge only", line, err, out)
		}
	}
}

// TestExecKeepsToItsSwitch: the tools Exec runs, in this process, for a
// host's front ends and SSH builtins reach no other switch's sockets (here
// another switch stands for this machine's own Open vSwitch), whether
// named by path, unix: name or a name that climbs out of the run
// directory; /var/run/openvswitch, where a host with a root of its own
// sees its switch's run directory, is this switch's.
func TestExecKeepsToItsSwitch(t *testing.T) {
	sw, other := openRealT(t), openRealT(t)
	must(t, other, "ovs-vsctl add-br elsewhere")
	must(t, sw, "ovs-vsctl add-br here")
	rel, err := filepath.Rel(sw.runDir, filepath.Join(other.runDir, "elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	ctl := func(s *realSwitch) string { return filepath.Base(s.vswitchdCtl()) }
	for _, argv := range [][]string{
		{"ovs-ofctl", "show", filepath.Join(other.runDir, "elsewhere.mgmt")},
		{"ovs-ofctl", "show", "unix:" + filepath.Join(other.runDir, "elsewhere.mgmt")},
		{"ovs-ofctl", "show", rel},
		{"ovs-appctl", "-t", filepath.Join(other.runDir, ctl(other)), "version"},
		{"ovs-appctl", "--target=" + filepath.Join(other.runDir, ctl(other)), "version"},
		{"ovs-appctl", "--tar", filepath.Join(other.runDir, ctl(other)), "version"},
		{"ovs-appctl", "-t", filepath.Join(rel, "..", "ovs-vswitchd"), "version"},
		{"ovs-appctl", "-t" + filepath.Join(other.runDir, ctl(other)), "version"},
		{"ovs-appctl", "-T", "5", "-t", filepath.Join(other.runDir, ctl(other)), "version"},
		{"ovs-appctl", "--timeout", "5", "--target", filepath.Join(other.runDir, ctl(other)), "version"},
	} {
		r, err := sw.Exec(context.Background(), argv, nil)
		if err == nil && r.ExitCode == 0 {
			t.Errorf("%q reached another switch: %s", argv, r.Stdout)
		}
	}
	for _, argv := range [][]string{
		{"ovs-ofctl", "show", "here"},
		{"ovs-ofctl", "show", filepath.Join(DefaultRunDir, "here.mgmt")},
		{"ovs-ofctl", "show", "unix:" + filepath.Join(sw.runDir, "here.mgmt")},
		{"ovs-appctl", "-t", "ovs-vswitchd", "version"},
		{"ovs-appctl", "-t", filepath.Join(DefaultRunDir, ctl(sw)), "version"},
		{"ovs-appctl", "-T5", "-t" + filepath.Join(DefaultRunDir, ctl(sw)), "version"},
		{"ovs-appctl", "--target=" + filepath.Join(DefaultRunDir, ctl(sw)), "version"},
	} {
		r, err := sw.Exec(context.Background(), argv, nil)
		if err != nil || r.ExitCode != 0 {
			t.Errorf("%q: %v, exit %d: %s", argv, err, r.ExitCode, r.Stderr)
		}
	}
}
