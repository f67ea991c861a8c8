package sshd

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestPasswordAuth(t *testing.T) {
	h := startHost(t, "", nil)
	c, err := h.goClient(t, "root", ssh.Password(testPassword))
	if err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	out, err := mustSession(t, c).Output("id -u >/dev/null && echo ok")
	c.Close()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("exec after password login: %q %v", out, err)
	}
	for _, tc := range []struct{ user, password string }{
		{"root", "wrong"},
		{"root", ""},
		{"stack", testPassword}, // another user's password
		{"nobody", testPassword},
	} {
		if c, err := h.goClient(t, tc.user, ssh.Password(tc.password)); err == nil {
			c.Close()
			t.Errorf("user %q with a wrong password logged in", tc.user)
		}
	}
	if _, err := h.goClient(t, "stack", ssh.PublicKeys(h.key.signer)); err == nil {
		t.Error("root's key logged in as stack")
	}
	if got := h.srv.Handshakes(); got != 1 {
		t.Errorf("handshakes %d, want 1 (only the good login)", got)
	}
}

func TestHostKeyPersistsAcrossRestart(t *testing.T) {
	h := startHost(t, "", nil)
	first := ssh.FingerprintSHA256(h.srv.HostKey())
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Addr = h.srv.Addr() // same address, as a rebooted host
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := ssh.FingerprintSHA256(srv.HostKey()); got != first {
		t.Fatalf("host key changed across restart: %s then %s", first, got)
	}
	// A client that pinned the first key still connects.
	c, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(h.key.signer)},
		HostKeyCallback: ssh.FixedHostKey(h.srv.HostKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Another key file gives another key.
	cfg.HostKeyFile = filepath.Join(t.TempDir(), "other_key")
	cfg.Addr = "127.0.0.1:0"
	other, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ssh.FingerprintSHA256(other.HostKey()) == first {
		t.Fatal("two key files, one key")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{},
		{Name: "dom0", Root: "relative", HostKeyFile: "k", Users: map[string]User{"root": {Password: "x", Home: "/root"}}},
		{Name: "dom0", Root: "/tmp/x", HostKeyFile: "k", Users: map[string]User{"root": {Home: "/root"}}},
		{Name: "dom0", Root: "/tmp/x", HostKeyFile: "k", Users: map[string]User{"root": {Password: "x", Home: "root"}}},
		{Name: "dom0", Root: "/tmp/x", HostKeyFile: "k", Users: map[string]User{"root": {Password: "x", Home: "/root"}}, Isolation: "chroot"},
	}
	for i, cfg := range bad {
		if s, err := Start(context.Background(), cfg); err == nil {
			s.Close()
			t.Errorf("config %d accepted", i)
		}
	}
}

func mustSession(t *testing.T, c *ssh.Client) *ssh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
