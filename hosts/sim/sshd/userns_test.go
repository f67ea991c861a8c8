package sshd

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/sim/internal/unprivtest"
)

// unprivTests are the tests that run again as that user: this one, the
// confinement of commands, and their signals and lifetimes (each starts a
// host: about 0.7 s, most of it copying /etc).
var unprivTests = []string{"TestUserNSServer", "TestOwnRootConfinesCommands", "TestSignalForwarded", "TestLeftoversLiveUntilClose"}

// A server that is not root gives its host a root of its own through a
// user namespace (userns.go). Run as root (CI), this runs the test binary
// again as an unprivileged user with the tests in unprivTests, which must
// all pass there, not skip; it skips only when that user cannot make a
// user namespace at all (unshare -Ur). There, a failed probe fails it.
func TestUserNSServer(t *testing.T) {
	if os.Geteuid() == 0 {
		unprivtest.Rerun(t, unprivTests)
		return
	}
	if err := probeMountNS(); err != nil {
		if unprivtest.Required() {
			t.Fatalf("user namespaces work for this user, but the server has no own root: %v", err)
		}
		t.Skipf("no user namespace of its own for a server that is not root: %v", err)
	}
	facts := t.TempDir()
	for rel, content := range map[string]string{"cmdline": "xen_integration_bridge=xapi2\n",
		"sys/class/net/eth1/address": "aa:bb:cc:dd:ee:01\n", "sys/hypervisor/uuid": "the-vm-uuid\n"} {
		p := filepath.Join(facts, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	h := startHost(t, IsolationMountNS, func(c *Config) {
		c.Hostname = "domu-test"
		c.ReadOnlyBinds = map[string]string{"/proc/cmdline": filepath.Join(facts, "cmdline"), "/sys": filepath.Join(facts, "sys"),
			"/sys/class/net": filepath.Join(facts, "sys/class/net")}
	})
	if h.srv.Isolation() != IsolationMountNS || h.srv.pidns == nil || !h.srv.pidns.userns {
		t.Fatalf("isolation %s, PID holder %+v: want mountns in a user namespace", h.srv.Isolation(), h.srv.pidns)
	}
	if h.srv.cgroup != nil {
		t.Error("a cgroup for a server that is not root")
	}
	script := strings.Join([]string{
		"id -u; id -g; hostname; echo $$",
		"echo hi > /root/f && chown 0:0 /root/f && echo chowned-to-0",
		"chown 1 /root/f 2>/dev/null || echo no-uid-1",
		"echo x > /dev/null && head -c 3 /dev/zero | wc -c",
		"cat /proc/cmdline /sys/class/net/eth1/address /sys/hypervisor/uuid",
		"ls /sys/class/net | tr '\\n' ' '; echo",
		"test -d /sys/devices/system/cpu && echo machine-sys",
		"{ echo z > /sys/hypervisor/uuid; } 2>/dev/null || echo sys-read-only",
	}, "\n")
	for _, user := range []string{"root", "stack"} {
		var out []byte
		var err error
		if user == "root" {
			out, err = mustSession(t, h.rootClient(t)).CombinedOutput(script)
		} else {
			c, cerr := h.goClient(t, "stack", ssh.Password("stackpw"))
			if cerr != nil {
				t.Fatal(cerr)
			}
			out, err = mustSession(t, c).CombinedOutput(strings.ReplaceAll(script, "/root/f", "/opt/stack/f"))
			c.Close()
		}
		if err != nil {
			t.Fatalf("%s: %v: %s", user, err, out)
		}
		// pid 1 is the host's holder: a command's shell is a later pid.
		want := "0\n0\ndomu-test\n[0-9]+\nchowned-to-0\nno-uid-1\n3\nxen_integration_bridge=xapi2\naa:bb:cc:dd:ee:01\nthe-vm-uuid\n" +
			"eth1 \nmachine-sys\nsys-read-only\n"
		if !regexp.MustCompile("^"+want+"$").Match(out) || strings.Split(string(out), "\n")[3] == "1" {
			t.Errorf("%s's command printed\n%s\nwant (regexp)\n%s", user, out, want)
		}
	}
	// What the host's root wrote is this user's on this machine.
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(h.cfg.Root, "root", "f"), &st); err != nil || int(st.Uid) != os.Getuid() {
		t.Errorf("the host's /root/f: owner %d (%v), want %d", st.Uid, err, os.Getuid())
	}
	// A program the host runs itself (xapi's plugins) is root there too.
	cmd, err := h.srv.Command(context.Background(), "root", []string{"/bin/sh", "-c", "id -u; cat /etc/xensource/network.conf"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "0\nopenvswitch\n" {
		t.Errorf("Server.Command: %q %v", out, err)
	}
}
