package sshd

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"
)

// The real OpenSSH client (Debian openssh-client) against the simulator.

func TestOpenSSHExecExitCodeStreamsAndHome(t *testing.T) {
	sshBin := needTool(t, "ssh")
	for _, iso := range isolations(t) {
		t.Run(string(iso), func(t *testing.T) {
			h := startHost(t, iso, func(c *Config) { c.Env = []string{"PATH=/opt/ovs-of-dom0/bin", "OVS_RUNDIR=/run/x"} })
			args := append(h.openSSHArgs(t, h.key.file, "-p"), "root@127.0.0.1",
				`echo hi; echo oops >&2; echo "home=$HOME pwd=$(pwd) root=$XENLAB_SIM_ROOT host=$XENLAB_SIM_HOST rundir=$OVS_RUNDIR"; echo "path=$PATH"; exit 3`)
			r := run(t, "", sshBin, args...)
			if r.code != 3 {
				t.Fatalf("exit code %d, want 3 (stderr %q)", r.code, r.stderr)
			}
			if r.stderr != "oops\n" {
				t.Errorf("stderr %q, want only the command's", r.stderr)
			}
			lines := strings.Split(r.stdout, "\n")
			if len(lines) < 3 || lines[0] != "hi" {
				t.Fatalf("stdout %q", r.stdout)
			}
			home := filepath.Join(h.cfg.Root, "root")
			if iso == IsolationMountNS {
				home = "/root"
			}
			want := "home=" + home + " pwd=" + home + " root=" + h.cfg.Root + " host=dom0 rundir=/run/x"
			if lines[1] != want {
				t.Errorf("got  %q\nwant %q", lines[1], want)
			}
			if !strings.HasPrefix(lines[2], "path=/opt/ovs-of-dom0/bin:") || !strings.HasSuffix(lines[2], ":"+systemPath) {
				t.Errorf("PATH does not start with the host's prefix and end with the system's: %q", lines[2])
			}
			if h.srv.Handshakes() != 1 {
				t.Errorf("handshakes %d, want 1", h.srv.Handshakes())
			}
		})
	}
}

func TestOpenSSHStdin(t *testing.T) {
	sshBin := needTool(t, "ssh")
	h := startHost(t, "", nil)
	args := append(h.openSSHArgs(t, h.key.file, "-p"), "root@127.0.0.1", "tr a-z A-Z; echo done")
	r := run(t, "hello\nworld\n", sshBin, args...)
	if r.code != 0 || r.stdout != "HELLO\nWORLD\ndone\n" {
		t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestOpenSSHUnknownKeyRefused(t *testing.T) {
	sshBin := needTool(t, "ssh")
	h := startHost(t, "", nil)
	other := newUserKey(t)
	args := append(h.openSSHArgs(t, other.file, "-p"), "root@127.0.0.1", "echo should-not-run")
	r := run(t, "", sshBin, args...)
	if r.code != 255 || strings.Contains(r.stdout, "should-not-run") {
		t.Fatalf("unknown key: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("stderr %q does not say permission denied", r.stderr)
	}
	if h.srv.Handshakes() != 0 {
		t.Errorf("handshakes %d after a refused key", h.srv.Handshakes())
	}
}

func TestOpenSSHHostKeyMismatchRefused(t *testing.T) {
	sshBin := needTool(t, "ssh")
	h := startHost(t, "", nil)
	other := startHost(t, "", nil)
	args := h.openSSHArgs(t, h.key.file, "-p")
	// known_hosts records another server's key for this address.
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(h.srv.Addr())}, other.srv.HostKey())
	if err := os.WriteFile(wrong, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if strings.HasPrefix(a, "UserKnownHostsFile=") {
			args[i] = "UserKnownHostsFile=" + wrong
		}
	}
	r := run(t, "", sshBin, append(args, "root@127.0.0.1", "echo should-not-run")...)
	if r.code != 255 || strings.Contains(r.stdout, "should-not-run") ||
		!strings.Contains(r.stderr, "Host key verification failed") {
		t.Fatalf("mismatched host key: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOpenSSHSFTPPutGetChmod(t *testing.T) {
	sftpBin := needTool(t, "sftp")
	h := startHost(t, "", nil)
	dir := t.TempDir()
	local := filepath.Join(dir, "netwrap")
	content := "#!/usr/bin/env python\nprint('netwrap')\n"
	if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file larger than sftp's pipelined requests, to exercise
	// out-of-order writes and reads at offsets.
	big := make([]byte, 3<<20+12345)
	rand.Read(big)
	bigFile, bigBack := filepath.Join(dir, "big"), filepath.Join(dir, "big.back")
	if err := os.WriteFile(bigFile, big, 0o600); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back")
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte(strings.Join([]string{
		"put " + bigFile + " /opt/big",
		"get /opt/big " + bigBack,
		"put " + local + " /etc/xapi.d/plugins/netwrap",
		"chmod 755 /etc/xapi.d/plugins/netwrap",
		"get /etc/xapi.d/plugins/netwrap " + back,
		"cd /etc/xapi.d/plugins",
		"ls -l",
		"pwd",
		"mkdir made",
		"rename netwrap made/netwrap2",
		"rmdir /etc/xapi.d/plugins/nosuch",
	}, "\n")+"\n"), 0o600)
	args := append(h.openSSHArgs(t, h.key.file, "-P"), "-b", batch, "root@127.0.0.1")
	r := run(t, "", sftpBin, args...)
	// The batch's last line fails on purpose (a missing directory), so
	// sftp exits 1 having run everything before it.
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch") {
		t.Fatalf("sftp code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if !bytes.Equal(must(os.ReadFile(bigBack)), big) || !bytes.Equal(must(os.ReadFile(filepath.Join(h.cfg.Root, "opt/big"))), big) {
		t.Error("a 3 MB file changed on its way up or down")
	}
	if got := string(must(os.ReadFile(back))); got != content {
		t.Errorf("got back %q", got)
	}
	if !strings.Contains(r.stdout, "-rwxr-xr-x") || !strings.Contains(r.stdout, "/etc/xapi.d/plugins") {
		t.Errorf("ls/pwd output %q", r.stdout)
	}
	moved := filepath.Join(h.cfg.Root, "etc/xapi.d/plugins/made/netwrap2")
	fi, err := os.Stat(moved)
	if err != nil {
		t.Fatalf("the file did not land under the host's root: %v", err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	if string(must(os.ReadFile(moved))) != content {
		t.Error("content changed on the way")
	}
}
