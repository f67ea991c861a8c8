package ssh

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"xenlab/secret"
)

const goSSHDPassword = "pw-for-the-test-server"

// hashedHost is an OpenSSH hashed host name, as ssh-keygen -H writes it.
func hashedHost(host string) string {
	salt := []byte("0123456789abcdefghij")
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(host))
	return "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func knownHostsConfig(t *testing.T, s *goSSHD, lines ...string) Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	if len(lines) > 0 {
		writeFile(t, file, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	}
	return Config{
		Host: "wild", Addr: s.addr, User: "root",
		Password:          secret.New(goSSHDPassword),
		KnownHosts:        []string{file},
		AcceptNewHostKeys: true,
		DialTimeout:       10 * time.Second,
		Logf:              t.Logf,
	}
}

// TestKnownHostsPatternsFollowOpenSSH: any known_hosts line whose pattern
// matches the host (a wildcard, a hashed name, a [host]:port form) and
// holds another key is a changed host key, refused even with
// AcceptNewHostKeys; only when no line matches is the host new.
func TestKnownHostsPatternsFollowOpenSSH(t *testing.T) {
	s := startGoSSHD(t, goSSHDPassword)
	other, _ := newKey(t)
	host, port, _ := strings.Cut(s.addr, ":")
	norm := knownhosts.Normalize(s.addr) // [127.0.0.1]:port
	otherKey := func(pattern string) string { return knownhosts.Line([]string{pattern}, other.PublicKey()) }
	// knownhosts.Line normalizes its patterns; write wildcard lines by hand.
	rawLine := func(pattern string) string {
		return pattern + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))
	}
	goodKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.hostKey.PublicKey())))

	mismatch := map[string][]string{
		"star":                   {rawLine("*")},
		"star among others":      {rawLine("otherhost,*")},
		"bracketed star port":    {rawLine("[*]:" + port)},
		"question marks":         {rawLine("[127.0.0.?]:" + port)},
		"host wildcard and port": {rawLine("[127.*]:" + port)},
		"hashed":                 {hashedHost(norm) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))},
		"exact":                  {otherKey(s.addr)},
		"after a comment":        {"# lab", rawLine("*.example.org"), rawLine("[127.0.0.1]*")},
	}
	for name, lines := range mismatch {
		t.Run("mismatch/"+name, func(t *testing.T) {
			cfg := knownHostsConfig(t, s, lines...)
			before, _ := os.ReadFile(cfg.KnownHosts[0])
			logins := s.loginCount()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := Dial(ctx, cfg)
			if err == nil {
				c.Close()
				t.Fatalf("accepted a host key that a matching line contradicts: %q", lines)
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) || !hk.Mismatch() {
				t.Fatalf("got %T %v, want a mismatch *HostKeyError", err, err)
			}
			for _, fp := range []string{ssh.FingerprintSHA256(s.hostKey.PublicKey()), ssh.FingerprintSHA256(other.PublicKey())} {
				if !strings.Contains(err.Error(), fp) {
					t.Errorf("error does not show %s: %v", fp, err)
				}
			}
			if after, _ := os.ReadFile(cfg.KnownHosts[0]); string(after) != string(before) {
				t.Errorf("known_hosts changed on a mismatch:\n%s", after)
			}
			if s.loginCount() != logins {
				t.Fatal("the password was sent to a host whose key did not verify")
			}
		})
	}

	known := map[string][]string{
		"star with the right key":       {"* " + goodKey},
		"hashed with the right key":     {hashedHost(norm) + " " + goodKey},
		"right key beside another line": {rawLine("*"), "[" + host + "]:" + port + " " + goodKey},
	}
	for name, lines := range known {
		t.Run("known/"+name, func(t *testing.T) {
			cfg := knownHostsConfig(t, s, lines...)
			cfg.AcceptNewHostKeys = false
			before, _ := os.ReadFile(cfg.KnownHosts[0])
			c, err := Dial(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if after, _ := os.ReadFile(cfg.KnownHosts[0]); string(after) != string(before) {
				t.Errorf("known_hosts changed for a known host:\n%s", after)
			}
		})
	}

	t.Run("revoked", func(t *testing.T) {
		cfg := knownHostsConfig(t, s, "@revoked * "+goodKey, "* "+goodKey)
		logins := s.loginCount()
		_, err := Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "revoked") || s.loginCount() != logins {
			t.Fatalf("a revoked key: got %v", err)
		}
	})

	unmatched := map[string][]string{
		"no file":               nil,
		"other hosts only":      {rawLine("otherhost"), rawLine("[127.0.0.1]:1"), rawLine("10.*")},
		"negated":               {rawLine("!" + norm + ",*")},
		"negated by a wildcard": {rawLine("*,![127.0.0.*]:" + port)},
		"port 22 only":          {rawLine(host)},
		"hashed other":          {hashedHost("[127.0.0.1]:1") + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))},
	}
	for name, lines := range unmatched {
		t.Run("new/"+name, func(t *testing.T) {
			cfg := knownHostsConfig(t, s, lines...)
			c, err := Dial(context.Background(), cfg)
			if err != nil {
				t.Fatalf("a host no line matches was not trusted on first use: %v", err)
			}
			c.Close()
			b, _ := os.ReadFile(cfg.KnownHosts[0])
			if !strings.HasSuffix(string(b), knownhosts.Line([]string{norm}, s.hostKey.PublicKey())+"\n") {
				t.Fatalf("the new key was not recorded:\n%s", b)
			}
		})
	}
}

// TestPasswordOnlyWithoutAgent: a password alone logs in, whether or not
// an agent is configured, when SSH_AUTH_SOCK is unset or points nowhere.
func TestPasswordOnlyWithoutAgent(t *testing.T) {
	s := startGoSSHD(t, goSSHDPassword)
	for name, sock := range map[string]string{
		"unset":       "",
		"unreachable": filepath.Join(t.TempDir(), "no-agent.sock"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", sock)
			if sock == "" {
				os.Unsetenv("SSH_AUTH_SOCK")
			}
			cfg := knownHostsConfig(t, s)
			cfg.UseAgent = true // as hosts.Dom0 sets it when there is no ssh_key
			before := s.loginCount()
			c, err := Dial(context.Background(), cfg)
			if err != nil {
				t.Fatalf("password-only login without an agent: %v", err)
			}
			c.Close()
			if s.loginCount() != before+1 {
				t.Fatal("no password login reached the server")
			}
		})
	}
}
