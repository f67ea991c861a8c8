package ssh

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestRecordAndForgetKnownHost: a key recorded with a tag is found for its
// address by the host key check, a second record with the same tag
// replaces the line (no duplicate), and forgetting the tag removes that
// line and no other, the user's own lines included; the file keeps its
// mode and no lock file is left beside it.
func TestRecordAndForgetKnownHost(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "known_hosts")
	other, _ := newKey(t)
	mine := "user-host.example " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey()))) + "\n"
	writeFile(t, file, []byte(mine), 0o644)

	k1, _ := newKey(t)
	k2, _ := newKey(t)
	addr := "127.0.0.10:2222"
	if changed, err := RecordKnownHost(file, []string{"xenlab-domu-a"}, k1.PublicKey(), "xenlab:lab:domU:a"); err != nil || !changed {
		t.Fatalf("record before boot: %v, %v", changed, err)
	}
	if changed, err := RecordKnownHost(file, []string{KnownHostName(addr), "xenlab-domu-a"}, k1.PublicKey(), "xenlab:lab:domU:a"); err != nil || !changed {
		t.Fatalf("record with the address: %v, %v", changed, err)
	}
	if changed, err := RecordKnownHost(file, []string{KnownHostName(addr), "xenlab-domu-a"}, k1.PublicKey(), "xenlab:lab:domU:a"); err != nil || changed {
		t.Fatalf("recording the same line again: changed %v, %v", changed, err)
	}
	if _, err := RecordKnownHost(file, []string{"xenlab-domu-b"}, k2.PublicKey(), "xenlab:lab:domU:b"); err != nil {
		t.Fatal(err)
	}
	db, err := readKnownHosts(file)
	if err != nil {
		t.Fatal(err)
	}
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	if err := db.check(addr, tcp, k1.PublicKey()); err != nil {
		t.Fatalf("the recorded key is not accepted for %s: %v", addr, err)
	}
	if err := db.check(addr, tcp, k2.PublicKey()); err == nil {
		t.Fatalf("another domU's key is accepted for %s", addr)
	}
	data, _ := os.ReadFile(file)
	if n := strings.Count(string(data), "xenlab:lab:domU:a"); n != 1 {
		t.Fatalf("%d lines of domU a, want 1:\n%s", n, data)
	}

	n, err := ForgetKnownHost(file, "xenlab:lab:domU:a")
	if err != nil || n != 1 {
		t.Fatalf("forget: %d, %v", n, err)
	}
	data, _ = os.ReadFile(file)
	if strings.Contains(string(data), "domU:a") || !strings.Contains(string(data), "xenlab:lab:domU:b") || !strings.HasPrefix(string(data), mine) {
		t.Fatalf("after forgetting domU a:\n%s", data)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode after rewrites: %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files beside known_hosts: %v", entries)
	}
	if n, err := ForgetKnownHost(filepath.Join(dir, "none"), "x"); n != 0 || err != nil {
		t.Fatalf("forgetting in a missing file: %d, %v", n, err)
	}
}
