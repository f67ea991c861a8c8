package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	sshc "xenlab/hosts/ssh"
)

// TestDom0CannotTouchThisMachine: as root, neither a command on the
// simulated dom0 nor a dom0 plugin can read this machine's /etc/shadow or
// write to its /tmp, /opt, /usr/local or /root (also after trying
// umount), and a daemon a command starts (setsid, environment cleared) is
// gone once the simulator has stopped.
func TestDom0CannotTouchThisMachine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.dom0.Isolation() != sshd.IsolationMountNS {
		t.Skip("a host of its own needs root and mount namespaces: not available here")
	}
	ep := h.Endpoints()
	b := make([]byte, 6)
	rand.Read(b)
	mark := "xenlab-escape-" + hex.EncodeToString(b)
	dirs := []string{"/tmp", "/opt", "/usr/local", "/root"}
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Remove(filepath.Join(d, mark))
			os.Remove(filepath.Join(d, mark+"-plugin"))
		}
	})
	dom0, err := sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: ep.Dom0SSH, User: "root",
		KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer dom0.Close()
	var script []string
	script = append(script, "cat /etc/shadow 2>/dev/null | head -c 1 | grep -q . && echo read-shadow")
	for _, d := range dirs {
		script = append(script, "umount -l "+d+" 2>/dev/null; umount -l / 2>/dev/null; echo x > "+d+"/"+mark)
	}
	script = append(script,
		"setsid sh -c 'echo $$ > /tmp/daemon.pid; exec env -i sleep 600' </dev/null >/dev/null 2>&1 &",
		"while ! test -s /tmp/daemon.pid; do sleep 0.05; done; echo started")
	res, err := dom0.Run(ctx, strings.Join(script, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "started" {
		t.Fatalf("dom0 printed %q (stderr %q)", got, res.Stderr)
	}
	// A plugin runs confined too.
	plugin := "#!/bin/sh\ncat /etc/shadow >/dev/null 2>&1 && r=read-shadow || r=ok\n" +
		"for d in " + strings.Join(dirs, " ") + "; do echo x > $d/" + mark + "-plugin 2>/dev/null; done\n" +
		"printf '<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name>" +
		"<value>Success</value></member><member><name>Value</name><value>%s</value></member></struct></value></param></params></methodResponse>' $r\n"
	pdir := filepath.Join(dir, "dom0", "fs", "etc", "xapi.d", "plugins")
	if err := os.WriteFile(filepath.Join(pdir, "escape"), []byte(plugin), 0o755); err != nil {
		t.Fatal(err)
	}
	c := dialXAPI(ctx, t, ep)
	hosts, err := c.HostGetAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.HostCallPlugin(ctx, hosts[0], "escape", "f", map[string]string{}); err != nil || out != "ok" {
		t.Errorf("plugin: %q %v", out, err)
	}
	c.Close(ctx)
	for _, d := range dirs {
		for _, name := range []string{mark, mark + "-plugin"} {
			if _, err := os.Lstat(filepath.Join(d, name)); err == nil {
				t.Errorf("dom0 wrote %s/%s on this machine", d, name)
			}
			if _, err := os.Stat(filepath.Join(dir, "dom0", "fs", d, name)); err != nil {
				t.Errorf("dom0's write to %s/%s did not land in its directory: %v", d, name, err)
			}
		}
	}
	pidText, err := os.ReadFile(filepath.Join(dir, "dom0", "fs", "tmp", "daemon.pid"))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := h.dom0.MachinePID(inner)
	if err != nil {
		t.Fatalf("the daemon (pid %d in dom0) is not running before the simulator stops: %v", inner, err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the daemon %d is not running before the simulator stops: %v", pid, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// Close has waited for the host's cgroup to empty: the daemon is gone
	// or a zombie its new parent has yet to reap.
	if !processGone(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the daemon %d outlived the simulator", pid)
	}
}

func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat) // pid (comm) state ...
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}
