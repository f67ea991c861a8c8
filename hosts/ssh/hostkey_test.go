package ssh

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestHostKeyMismatchIsRefusedWithBothFingerprints(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	cfg := s.config(t)
	impostor, _ := newKey(t)
	cfg.KnownHosts = []string{filepath.Join(t.TempDir(), "known_hosts")}
	writeFile(t, cfg.KnownHosts[0], []byte("# lab hosts\n"+knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, impostor.PublicKey())+"\n"), 0o600)
	cfg.AcceptNewHostKeys = true // must not matter for a mismatch
	before, _ := os.ReadFile(cfg.KnownHosts[0])

	c, err := Dial(context.Background(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("connected to a host whose key does not match known_hosts")
	}
	var hk *HostKeyError
	if !errors.As(err, &hk) || !hk.Mismatch() {
		t.Fatalf("want a mismatch *HostKeyError, got %T %v", err, err)
	}
	offered := ssh.FingerprintSHA256(s.hostKey.PublicKey())
	recorded := ssh.FingerprintSHA256(impostor.PublicKey())
	msg := err.Error()
	for _, want := range []string{"testhost", s.addr, offered, recorded, cfg.KnownHosts[0] + ":2", "MISMATCH"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if after, _ := os.ReadFile(cfg.KnownHosts[0]); string(after) != string(before) {
		t.Errorf("known_hosts changed on a mismatch:\n%s", after)
	}
}

func TestUnknownHostNeedsAcceptNewWhichRecordsIt(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	cfg := s.config(t)
	userFile := filepath.Join(t.TempDir(), "user_known_hosts") // does not exist
	labFile := filepath.Join(t.TempDir(), "lab", "known_hosts")
	cfg.KnownHosts = []string{userFile, labFile}
	fp := ssh.FingerprintSHA256(s.hostKey.PublicKey())

	_, err := Dial(context.Background(), cfg)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Mismatch() || hk.Fingerprint != fp {
		t.Fatalf("want an unknown-host *HostKeyError for %s, got %v", fp, err)
	}
	for _, want := range []string{"testhost", fp, "unknown", "accept-new-host-keys", labFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(labFile); !os.IsNotExist(err) {
		t.Fatalf("lab file written without AcceptNewHostKeys: %v", err)
	}

	cfg.AcceptNewHostKeys = true
	var logged []string
	cfg.Logf = func(format string, args ...any) { logged = append(logged, format) }
	c := dialTest(t, cfg)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b, err := os.ReadFile(labFile)
	if err != nil {
		t.Fatal(err)
	}
	want := knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, s.hostKey.PublicKey()) + "\n"
	if string(b) != want {
		t.Fatalf("lab known_hosts:\n%q\nwant\n%q", b, want)
	}
	if len(logged) == 0 {
		t.Error("trusting a new key was not logged")
	}
	if _, err := os.Stat(userFile); !os.IsNotExist(err) {
		t.Errorf("the user's known_hosts was written: %v", err)
	}

	// Next time the key is known: no accept-new needed, nothing appended.
	cfg.AcceptNewHostKeys = false
	c = dialTest(t, cfg)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(labFile); string(b2) != want {
		t.Fatalf("known_hosts changed on a known host:\n%s", b2)
	}
}

// OpenSSH's ssh-keygen reads the line we recorded.
func TestRecordedLineIsReadByOpenSSH(t *testing.T) {
	requireSSHD(t)
	signer, _ := newKey(t)
	file := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, file, []byte("no newline at end"), 0o600)
	if err := appendKnownHost(file, "127.0.0.1:2222", signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	out, err := execOutput("ssh-keygen", "-F", "[127.0.0.1]:2222", "-f", file)
	if err != nil || !strings.Contains(out, "[127.0.0.1]:2222 ssh-ed25519 ") {
		t.Fatalf("ssh-keygen -F: %v\n%s", err, out)
	}
}

// A host recorded only with a key type it no longer offers is refused as
// a changed host, not retried and not trusted anew.
func TestHostKnownByAnotherKeyTypeIsRefused(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	old, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config(t)
	cfg.AcceptNewHostKeys = true
	cfg.Retry = RetryPolicy{Attempts: 5, Initial: time.Millisecond}
	writeFile(t, cfg.KnownHosts[0], []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, old)+"\n"), 0o600)
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "none of the key types recorded") || !strings.Contains(err.Error(), "ecdsa-sha2-nistp256") {
		t.Fatalf("want a refusal naming the recorded key type, got %v", err)
	}
	if strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("a host key problem was retried: %v", err)
	}
}
