package sshd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func needMountNS(t *testing.T) {
	t.Helper()
	if err := probeMountNS(); err != nil {
		t.Skipf("mount namespaces unavailable (needs root, tmpfs and overlay mounts): %v", err)
	}
}

// Under IsolationMountNS absolute paths in commands mean the host's files,
// as on a real dom0, and nothing reaches this machine's /etc.
func TestMountNSAbsolutePathsAreTheHosts(t *testing.T) {
	needMountNS(t)
	h := startHost(t, IsolationMountNS, nil)
	if h.srv.Isolation() != IsolationMountNS {
		t.Fatalf("isolation %s", h.srv.Isolation())
	}
	before := mountinfo(t)
	sc := h.sftpClient(t)
	if err := putFile(t, sc, "/etc/xapi.d/plugins/netwrap", "#!/bin/sh\necho netwrap \"$@\"\n"); err != nil {
		t.Fatal(err)
	}
	if err := putFile(t, sc, "/root/hello", "hi"); err != nil {
		t.Fatal(err)
	}
	probe := "/etc/xenlab-sim-probe-" + randomHex(t)
	c := h.rootClient(t)
	out, err := mustSession(t, c).CombinedOutput(strings.Join([]string{
		"set -e",
		"chmod 755 /etc/xapi.d/plugins/netwrap",
		"/etc/xapi.d/plugins/netwrap run",
		"cat /etc/xensource/network.conf /etc/xensource-inventory",
		"pwd; cat hello; echo",
		"echo made > /etc/xensource/made-by-command",
		"echo stray > " + probe,
		"test -s /etc/passwd && echo real-etc-visible",
	}, "\n"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "netwrap run\nopenvswitch\nPRODUCT_VERSION='6.2.0'\n/root\nhi\nreal-etc-visible\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	fi, err := os.Stat(filepath.Join(h.cfg.Root, "etc/xapi.d/plugins/netwrap"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("chmod in the command did not reach the host's file: %v %v", fi, err)
	}
	if got, err := os.ReadFile(filepath.Join(h.cfg.Root, "etc/xensource/made-by-command")); err != nil || string(got) != "made\n" {
		t.Errorf("write under a host tree: %q %v", got, err)
	}
	if _, err := os.Lstat(probe); !os.IsNotExist(err) {
		os.Remove(probe)
		t.Errorf("a write to /etc in the namespace reached this machine: %v", err)
	}
	for _, p := range []string{"/etc/xapi.d", "/etc/xensource", "/etc/xensource-inventory"} {
		if _, err := os.Lstat(p); err == nil && !strings.Contains(before, " "+p+" ") {
			t.Errorf("%s appeared on this machine", p)
		}
	}
	if after := mountinfo(t); after != before {
		t.Errorf("this machine's mounts changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// The same command works the same way for a user whose home is a host
// tree (/opt/stack), and concurrently: each command has its own namespace.
func TestMountNSConcurrentCommands(t *testing.T) {
	needMountNS(t)
	h := startHost(t, IsolationMountNS, nil)
	c, err := h.goClient(t, "stack", ssh.Password("stackpw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.NewSession()
			if err != nil {
				errs <- err.Error()
				return
			}
			defer s.Close()
			name := "/opt/stack/f" + string(rune('a'+i))
			out, err := s.CombinedOutput("pwd; echo " + name + " > " + name + "; cat " + name)
			if want := "/opt/stack\n" + name + "\n"; err != nil || string(out) != want {
				errs <- string(out) + " " + errString(err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	entries, err := os.ReadDir(filepath.Join(h.cfg.Root, "opt/stack"))
	if err != nil || len(entries) != 8 {
		t.Fatalf("host's /opt/stack has %d entries (%v), want 8", len(entries), err)
	}
}

// Under IsolationPaths the same command sees this machine's /etc: the
// documented limitation.
func TestPathsModeHomeIsUnderRoot(t *testing.T) {
	h := startHost(t, IsolationPaths, nil)
	c := h.rootClient(t)
	out, err := mustSession(t, c).CombinedOutput(`cat "$XENLAB_SIM_ROOT/etc/xensource/network.conf"; pwd`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "openvswitch\n" + filepath.Join(h.cfg.Root, "root") + "\n"; string(out) != want {
		t.Fatalf("got %q want %q", out, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func mountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	// Mount IDs and order are stable while nothing mounts; keep mount points.
	var pts []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			pts = append(pts, f[4])
		}
	}
	return " " + strings.Join(pts, " ") + " "
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Under IsolationMountNS a command has a root of its host's own: it cannot
// read this machine's /etc/shadow, its writes to /tmp, /opt, /usr/local,
// /root and /var/tmp land in the host's directory, this machine's programs
// are read-only, it cannot unmount any of that (no CAP_SYS_ADMIN), and it
// sees and signals only its host's processes (a PID namespace).
func TestOwnRootConfinesCommands(t *testing.T) {
	needMountNS(t)
	h := startHost(t, IsolationMountNS, nil)
	c := h.rootClient(t)
	mark := "xenlab-confine-" + randomHex(t)
	dirs := []string{"/tmp", "/opt", "/usr/local", "/root", "/var/tmp"}
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, mark)); err == nil {
			t.Fatalf("%s/%s exists before the test", d, mark)
		}
	}
	var script []string
	script = append(script, "cat /etc/shadow >/dev/null 2>&1 && echo shadow-read", "test -e /etc/shadow && echo shadow-exists")
	for _, d := range dirs {
		script = append(script, "echo x > "+d+"/"+mark+" || echo write-failed "+d)
	}
	script = append(script,
		"umount -l /usr/bin 2>/dev/null && echo unmounted /usr/bin",
		"umount -l / 2>/dev/null && echo unmounted /",
		"umount -l /root 2>/dev/null && echo unmounted /root",
		"echo y > /root/"+mark+"-after-umount",
		"touch /usr/bin/"+mark+" 2>/dev/null && echo usr-writable",
		"mount -t tmpfs x /mnt 2>/dev/null && echo mounted",
		"ls /dev | tr '\\n' ' '",
		// This test's own process is not there to be seen or signalled.
		"test -e /proc/"+strconv.Itoa(os.Getpid())+" && echo sees-the-machine",
		"kill -0 "+strconv.Itoa(os.Getpid())+" 2>/dev/null && echo can-signal-the-machine",
		"test $(ls /proc | grep -c '^[0-9]') -lt 20 || echo many-processes",
	)
	out, err := mustSession(t, c).CombinedOutput(strings.Join(script, "\n"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "fd full null pts random shm stderr stdin stdout tty urandom zero" {
		t.Errorf("the command printed %q; want only its /dev listing", got)
	}
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, mark)); err == nil {
			os.Remove(filepath.Join(d, mark))
			t.Errorf("a command's write to %s reached this machine", d)
		}
		if _, err := os.Stat(filepath.Join(h.cfg.Root, d, mark)); err != nil {
			t.Errorf("a command's write to %s did not land in the host's directory: %v", d, err)
		}
	}
	if _, err := os.Lstat("/root/" + mark + "-after-umount"); err == nil {
		os.Remove("/root/" + mark + "-after-umount")
		t.Error("after umount, a write to /root reached this machine")
	}
}

// As root, a host's root is built once (by the holder of its PID
// namespace) and every command starts in it: two SSH commands and a
// program of Command started with Start share one mount namespace, the
// holder's, with the capabilities dropped from their bounding set as a
// command that builds its own root has them dropped; a machine directory
// Command is given is bound into that root at its own path; Command's
// process run by its own Run still builds a root of its own.
func TestLastingRootIsShared(t *testing.T) {
	needMountNS(t)
	if os.Geteuid() != 0 {
		t.Skip("the lasting root needs root (a server that is not root enters a user namespace per command)")
	}
	h := startHost(t, IsolationMountNS, nil)
	if !h.srv.pidns.rooted {
		t.Fatalf("no lasting root: %s", h.logs.String())
	}
	holderNS, err := os.Readlink("/proc/" + strconv.Itoa(h.srv.pidns.pid) + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	c := h.rootClient(t)
	const probe = "readlink /proc/self/ns/mnt; grep CapBnd /proc/self/status"
	var outs []string
	for range 2 {
		out, err := mustSession(t, c).CombinedOutput(probe)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		outs = append(outs, string(out))
	}
	ns, capBnd, _ := strings.Cut(outs[0], "\n")
	if ns != holderNS || outs[1] != outs[0] {
		t.Errorf("SSH commands in %q and %q, the holder's namespace is %s", outs[0], outs[1], holderNS)
	}
	var bnd uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(capBnd, "CapBnd:")), "%x", &bnd); err != nil || bnd&(1<<21) != 0 || bnd&(1<<12) != 0 {
		t.Errorf("bounding set %q (%v): CAP_SYS_ADMIN or CAP_NET_ADMIN still in it", capBnd, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("machine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := []string{"/bin/sh", "-c", "readlink /proc/self/ns/mnt; cat " + dir + "/f"}
	cmd, err := h.srv.Command(context.Background(), "root", argv, nil, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := h.srv.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil || out.String() != holderNS+"\nmachine\n" {
		t.Errorf("Command started with Start: %q %v; want the holder's namespace and the machine's file", out.String(), err)
	}
	cmd, err = h.srv.Command(context.Background(), "root", argv, nil, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	own, err := cmd.CombinedOutput()
	if err != nil || strings.HasPrefix(string(own), holderNS) || !strings.HasSuffix(string(own), "\nmachine\n") {
		t.Errorf("Command run by its own Run: %q %v; want a namespace of its own and the machine's file", own, err)
	}
}

// Pause freezes a host as a suspended VM is: it accepts no connection and
// its processes stop where they are (the kernel says its cgroup is
// frozen), their state kept; Resume brings it back on the same address,
// the daemon going on from where it was (its counter moves again).
func TestPauseKeepsProcesses(t *testing.T) {
	needMountNS(t)
	if os.Geteuid() != 0 {
		t.Skip("freezing a host needs its cgroup (root)")
	}
	h := startHost(t, IsolationMountNS, nil)
	if h.srv.cgroup == nil {
		t.Skip("no cgroup v2 for the host here")
	}
	c := h.rootClient(t)
	// A daemon that counts; the counter file is in the host's /tmp.
	if out, err := mustSession(t, c).CombinedOutput("nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.01; done' >/dev/null 2>&1 &"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	counter := filepath.Join(h.cfg.Root, "tmp", "n")
	read := func() string {
		b, _ := os.ReadFile(counter)
		return strings.TrimSpace(string(b))
	}
	waitMoving := func() {
		first := read()
		for range 500 {
			if v := read(); v != "" && v != first {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("the daemon's counter does not move (%q)", read())
	}
	waitMoving()
	if err := h.srv.Pause(); err != nil {
		t.Fatal(err)
	}
	if ev, err := os.ReadFile(filepath.Join(h.srv.cgroup.dir, "cgroup.events")); err != nil || !strings.Contains(string(ev), "frozen 1") {
		t.Errorf("the host's cgroup after Pause: %q %v, want frozen", ev, err)
	}
	if conn, err := net.DialTimeout("tcp", h.srv.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("a paused host accepted a connection")
	}
	if err := h.srv.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitMoving()
	c2 := h.rootClient(t)
	if out, err := mustSession(t, c2).CombinedOutput("cat /tmp/n"); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Errorf("after Resume: %q %v", out, err)
	}
}

// KeepPaths are read-only in the host's root: what the simulator keeps
// there (the switch tools' front end is a hard link of its own
// executable) cannot be changed by a command, while a program there still
// runs and a unix socket there still connects.
func TestKeepPathsAreReadOnly(t *testing.T) {
	needMountNS(t)
	keep := t.TempDir()
	prog := filepath.Join(keep, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(keep, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	h := startHost(t, IsolationMountNS, func(c *Config) { c.KeepPaths = []string{keep} })
	c := h.rootClient(t)
	script := strings.Join([]string{
		prog,
		"{ echo changed > " + prog + "; } 2>/dev/null && echo wrote",
		"touch " + keep + "/new 2>/dev/null && echo created",
		"rm -f " + prog + " 2>/dev/null; test -e " + prog + " || echo removed",
		"python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"" + keep + "/s.sock\"); print(s.recv(16).decode().strip())' 2>/dev/null || echo no-python",
	}, "\n")
	out, err := mustSession(t, c).CombinedOutput(script)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "ran\nhello" && got != "ran\nno-python" {
		t.Errorf("the command printed %q; want the program's output and the socket's greeting only", got)
	}
	if data, _ := os.ReadFile(prog); string(data) != "#!/bin/sh\necho ran\n" {
		t.Errorf("the kept program was changed: %q", data)
	}
}
