package ssh

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"xenlab/secret"
)

// Password logins need a real password for the user: the test sshd reads
// a copy of /etc/shadow, bind-mounted in its own mount namespace, with
// the test password's hash.
func TestPasswordAuthentication(t *testing.T) {
	const password = "correct horse battery staple"
	s := startSSHD(t, sshdOptions{password: password})
	cfg := s.config(t)
	cfg.KeyFiles = nil
	cfg.Password = secret.New(password)
	c := dialTest(t, cfg)
	if res, err := c.Run(context.Background(), "echo in"); err != nil || string(res.Stdout) != "in\n" {
		t.Fatalf("password login: %q %v", res.Stdout, err)
	}

	cfg.Password = secret.New("wrong " + password)
	cfg.Retry = RetryPolicy{Attempts: 5, Initial: time.Millisecond}
	var logged []string
	cfg.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "authenticating as "+s.user) || !strings.Contains(err.Error(), "password") {
		t.Fatalf("want an authentication error, got %v", err)
	}
	if strings.Contains(err.Error(), password) || strings.Contains(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), password) {
		t.Fatal("the password leaked into an error or a printed Config")
	}
	if len(logged) != 0 {
		t.Fatalf("an authentication failure was retried: %q", logged)
	}
}

func TestEncryptedKeyUsesPassphraseFromEnv(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	// Authorize a second, encrypted key.
	_, priv, _ := ed25519.GenerateKey(nil)
	signer, _ := ssh.NewSignerFromKey(priv)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("sesame"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_enc")
	writeFile(t, keyFile, pem.EncodeToMemory(block), 0o600)
	writeFile(t, filepath.Join(s.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)

	cfg := s.config(t)
	cfg.KeyFiles = []string{keyFile}
	// Without a passphrase variable (the lab file has no setting for
	// one), the error says what a user can do, not the field's name.
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "has a passphrase") || !strings.Contains(err.Error(), "ssh-add "+keyFile) || strings.Contains(err.Error(), "PassphraseEnv") {
		t.Fatalf("encrypted key without a passphrase variable: %v", err)
	}
	cfg.PassphraseEnv = "XENLAB_TEST_PASSPHRASE"

	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "$XENLAB_TEST_PASSPHRASE is not set") {
		t.Fatalf("missing passphrase: %v", err)
	}
	t.Setenv("XENLAB_TEST_PASSPHRASE", "wrong-sesame")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), "wrong-sesame") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	t.Setenv("XENLAB_TEST_PASSPHRASE", "sesame")
	c := dialTest(t, cfg)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
}

func TestUnauthorizedKeyIsRefusedWithoutRetry(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	_, other := newKey(t)
	cfg := s.config(t)
	cfg.KeyFiles = []string{filepath.Join(t.TempDir(), "other")}
	writeFile(t, cfg.KeyFiles[0], other, 0o600)
	cfg.Retry = RetryPolicy{Attempts: 5, Initial: time.Millisecond}
	retried := false
	cfg.Logf = func(string, ...any) { retried = true }
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Run(context.Background(), "true")
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") || retried || c.Handshakes() != 0 {
		t.Fatalf("err %v, retried %v, handshakes %d", err, retried, c.Handshakes())
	}
	var hk *HostKeyError
	if errors.As(err, &hk) {
		t.Fatal("an auth failure reported as a host key error")
	}
}

func TestAgentAuthentication(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	agentPath, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Skipf("needs ssh-agent (Debian openssh-client): %v", err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command(agentPath, "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })
	// The socket file appears at bind(), before the agent listens: wait
	// until a connection is accepted, not until the file exists.
	for i := 0; ; i++ {
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			break
		}
		if i == 1000 {
			t.Fatal("ssh-agent did not start listening on its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	add := exec.Command("ssh-add", s.userKey)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := s.config(t)
	cfg.KeyFiles = nil
	cfg.UseAgent = true
	c := dialTest(t, cfg)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
}
