package ssh

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

// sshdServer is a real OpenSSH sshd on 127.0.0.1 for one test. It runs as
// root inside its own mount and PID namespaces (unshare), so that
// /run/sshd (the privilege separation directory) and /etc/shadow (root's
// password) and /etc/passwd (a test user) can be bind-mounted from the test's temporary directory
// without touching the machine, and so that stopping it kills every
// connection and session process it forked.
type sshdServer struct {
	t          testing.TB
	dir        string
	addr       string
	user       string
	hostKey    ssh.Signer
	userKey    string // private key file
	knownHosts string // known_hosts recording hostKey for addr
	cfgFile    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

type sshdOptions struct {
	password string // enables PasswordAuthentication for the user
	// unprivileged logs in as a non-root user that exists only in the
	// server's namespace (OpenSSH handles some requests, such as
	// "signal", only for non-root logins).
	unprivileged bool
}

// Test user for unprivileged logins, added to sshd's view of /etc/passwd.
const (
	testUser = "xenlabtest"
	testUID  = 4242
)

var (
	unshareOnce sync.Once
	unshareErr  error
)

// requireSSHD skips the test unless a real sshd can be started.
func requireSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("needs OpenSSH server (%s, Debian openssh-server): %v", sshdPath, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd runs in a mount/PID namespace created with unshare, and logs in as the current user")
	}
	unshareOnce.Do(func() {
		out, err := exec.Command("unshare", "-m", "-p", "-f", "--kill-child", "--",
			"/bin/sh", "-c", "mount -t tmpfs none /mnt").CombinedOutput()
		if err != nil {
			unshareErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if unshareErr != nil {
		t.Skipf("needs unshare with mount and PID namespaces (util-linux, CAP_SYS_ADMIN): %v", unshareErr)
	}
}

// startSSHD starts sshd on a free port with a generated host key and an
// authorized user key, and stops it when the test ends.
func startSSHD(t testing.TB, opt sshdOptions) *sshdServer {
	t.Helper()
	requireSSHD(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &sshdServer{t: t, dir: dir, user: u.Username, addr: freeAddr(t)}

	hostSigner, hostPEM := newKey(t)
	s.hostKey = hostSigner
	writeFile(t, filepath.Join(dir, "host_ed25519"), hostPEM, 0o600)
	userSigner, userPEM := newKey(t)
	s.userKey = filepath.Join(dir, "id_ed25519")
	writeFile(t, s.userKey, userPEM, 0o600)
	writeFile(t, filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(userSigner.PublicKey()), 0o600)
	s.knownHosts = filepath.Join(dir, "known_hosts")
	writeFile(t, s.knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, hostSigner.PublicKey())+"\n"), 0o600)

	if err := os.MkdirAll(filepath.Join(dir, "run", "sshd"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Skipf("needs /etc/passwd: %v", err)
	}
	shadowExtra := ""
	if opt.unprivileged {
		// sshd reads authorized_keys as the user: open the way to it.
		home := filepath.Join(dir, "home")
		for _, p := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, testUID, testUID); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "authorized_keys"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.user = testUser
		passwd = fmt.Appendf(passwd, "%s:x:%d:%d::%s:/bin/sh\n", testUser, testUID, testUID, home)
		shadowExtra = testUser + ":*:19000:0:99999:7:::\n"
	}
	writeFile(t, filepath.Join(dir, "passwd"), passwd, 0o644)
	writeFile(t, filepath.Join(dir, "shadow"), append(shadowWith(t, u.Username, opt.password), shadowExtra...), 0o640)

	host, port, _ := net.SplitHostPort(s.addr)
	passwordAuth := "no"
	if opt.password != "" {
		passwordAuth = "yes"
	}
	cfg := strings.Join([]string{
		"ListenAddress " + host,
		"Port " + port,
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin yes",
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication " + passwordAuth,
		"KbdInteractiveAuthentication no",
		"Subsystem sftp internal-sftp",
		"UseDNS no",
		"PrintMotd no",
		"MaxStartups 100",
		"LogLevel VERBOSE",
	}, "\n") + "\n"
	s.cfgFile = filepath.Join(dir, "sshd_config")
	writeFile(t, s.cfgFile, []byte(cfg), 0o600)

	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log.String())
		}
	})
	return s
}

// start launches sshd and waits until it accepts connections.
func (s *sshdServer) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		s.log = &syncBuffer{}
	}
	script := `set -e; mount --bind "$1" /run; mount --bind "$2" /etc/shadow; mount --bind "$3" /etc/passwd; exec "$4" -D -e -f "$5"`
	cmd := exec.Command("unshare", "-m", "-p", "-f", "--kill-child", "--", "/bin/sh", "-c", script, "sh",
		filepath.Join(s.dir, "run"), filepath.Join(s.dir, "shadow"), filepath.Join(s.dir, "passwd"), sshdPath, s.cfgFile)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// If the test binary dies, unshare dies, and --kill-child takes sshd
	// and its namespace with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start sshd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	for i := 0; i < 1000; i++ {
		select {
		case <-done:
			s.t.Fatalf("sshd exited while starting:\n%s", s.log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("sshd did not listen on %s within 10s:\n%s", s.addr, s.log.String())
}

// stop kills sshd's PID namespace (the listener, every connection and
// every session process) and waits until it is gone.
func (s *sshdServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	// The namespace's init is unshare's only child; killing it kills
	// everything in the namespace before unshare's wait returns.
	for _, pid := range childPIDs(s.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// config returns a client Config that logs in as the test user with the
// authorized key and knows the host key.
func (s *sshdServer) config(t testing.TB) Config {
	return Config{
		Host:        "testhost",
		Addr:        s.addr,
		User:        s.user,
		KeyFiles:    []string{s.userKey},
		KnownHosts:  []string{s.knownHosts},
		DialTimeout: 10 * time.Second,
		Logf:        t.Logf,
	}
}

// childPIDs lists the children of pid from /proc.
func childPIDs(pid int) []int {
	var out []int
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// shadowWith returns /etc/shadow with user's password replaced: by the
// SHA-512 crypt hash of password, or by "*" (no password, not locked, so
// public key logins work with UsePAM no).
func shadowWith(t testing.TB, name, password string) []byte {
	t.Helper()
	orig, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Skipf("needs /etc/shadow: %v", err)
	}
	hash := "*"
	if password != "" {
		cmd := exec.Command("openssl", "passwd", "-6", "-stdin")
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("needs openssl to hash a test password: %v", err)
		}
		hash = strings.TrimSpace(string(out))
	}
	var b strings.Builder
	found := false
	for _, line := range strings.Split(strings.TrimRight(string(orig), "\n"), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 1 && f[0] == name {
			f[1] = hash
			line = strings.Join(f, ":")
			found = true
		}
		b.WriteString(line + "\n")
	}
	if !found {
		t.Skipf("user %s has no /etc/shadow entry", name)
	}
	return []byte(b.String())
}

// newKey returns a fresh Ed25519 key and its OpenSSH PEM encoding.
func newKey(t testing.TB) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// freeAddr returns 127.0.0.1:<a port nothing listens on right now>.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
