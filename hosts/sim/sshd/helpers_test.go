package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const testPassword = "secrete"

// userKey is a client key pair: a file for OpenSSH and a signer for Go.
type userKey struct {
	file   string
	signer ssh.Signer
}

func newUserKey(t testing.TB) userKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return userKey{file: file, signer: signer}
}

// testHost is a running server with a key that may log in as root.
type testHost struct {
	srv  *Server
	cfg  Config
	key  userKey
	logs *lockedBuffer
}

// startHost starts a dom0-like server on 127.0.0.1; edit adjusts the
// config first. The server is closed when the test ends.
func startHost(t testing.TB, iso Isolation, edit func(*Config)) *testHost {
	t.Helper()
	key := newUserKey(t)
	dir := t.TempDir()
	logs := &lockedBuffer{}
	cfg := Config{
		Name:        "dom0",
		Root:        filepath.Join(dir, "root"),
		Addr:        "127.0.0.1:0",
		HostKeyFile: filepath.Join(dir, "state", "ssh_host_ed25519_key"),
		Users: map[string]User{
			"root":  {Password: testPassword, AuthorizedKeys: []ssh.PublicKey{key.signer.PublicKey()}, Home: "/root"},
			"stack": {Password: "stackpw", Home: "/opt/stack"},
		},
		Skeleton: map[string]string{
			"/etc/xensource/network.conf": "openvswitch\n",
			"/etc/xapi.d/plugins/":        "",
			"/etc/xensource-inventory":    "PRODUCT_VERSION='6.2.0'\n",
		},
		Isolation: iso,
		Logf:      logs.Logf,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if strings.Contains(logs.String(), testPassword) {
			t.Errorf("a password appears in the logs:\n%s", logs.String())
		}
	})
	return &testHost{srv: srv, cfg: cfg, key: key, logs: logs}
}

// isolations are the modes a test runs in: paths always, mountns when this
// machine allows it.
func isolations(t *testing.T) []Isolation {
	modes := []Isolation{IsolationPaths}
	if err := probeMountNS(); err == nil {
		modes = append(modes, IsolationMountNS)
	} else {
		t.Logf("mountns mode not tested: %v", err)
	}
	return modes
}

// knownHostsFile writes an OpenSSH known_hosts file for the server.
func (h *testHost) knownHostsFile(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(h.srv.Addr())}, h.srv.HostKey())
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian openssh-client): %v", name, err)
	}
	return p
}

// openSSHArgs are the options every OpenSSH client run uses: no user or
// system config, this key only, strict host key checking, no prompts.
func (h *testHost) openSSHArgs(t *testing.T, keyFile, portFlag string) []string {
	_, port, err := net.SplitHostPort(h.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		"-F", "/dev/null",
		portFlag, port,
		"-i", keyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "PasswordAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no",
		"-o", "UserKnownHostsFile=" + h.knownHostsFile(t),
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout=20",
		"-o", "LogLevel=ERROR",
	}
}

type runResult struct {
	stdout, stderr string
	code           int
}

// run runs an external program with a time bound.
func run(t *testing.T, stdin string, name string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v (stderr %q)", name, err, errb.String())
	}
	return runResult{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// goClient dials the server with x/crypto/ssh, checking its host key.
func (h *testHost) goClient(t testing.TB, user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", h.srv.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: ssh.FixedHostKey(h.srv.HostKey()),
		Timeout:         20 * time.Second,
	})
}

func (h *testHost) rootClient(t testing.TB) *ssh.Client {
	t.Helper()
	c, err := h.goClient(t, "root", ssh.PublicKeys(h.key.signer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFile waits (bounded) for a command to write a pid into file.
func waitPid(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatalf("pid file: %v", err)
			}
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// processGone says whether pid no longer runs (gone, or a zombie nobody
// has reaped yet).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// waitGone waits (bounded) until pid no longer runs.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if processGone(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL) // do not leave it behind
	t.Fatalf("process %d still runs", pid)
}

// scratchFile is a file a command writes and the test reads: its path in
// the command (inside the host's own root under IsolationMountNS) and on
// this machine.
func (h *testHost) scratchFile(t testing.TB, name string) (inCommand, onMachine string) {
	t.Helper()
	dir := filepath.Join(h.cfg.Root, "tmp")
	if err := os.MkdirAll(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	onMachine = filepath.Join(dir, name)
	if h.srv.Isolation() == IsolationMountNS {
		return "/tmp/" + name, onMachine
	}
	return onMachine, onMachine
}

// machinePid is this machine's pid of a process a command reported (its
// pid in the host's PID namespace).
func (h *testHost) machinePid(t testing.TB, pid int) int {
	t.Helper()
	p, err := h.srv.MachinePID(pid)
	if err != nil {
		t.Fatalf("pid %d of the host: %v", pid, err)
	}
	return p
}
