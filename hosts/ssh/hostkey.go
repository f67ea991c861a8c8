package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError reports a host key that could not be verified: either no
// known_hosts file knows the host (Known is empty), or the host offered a
// key that differs from the recorded ones (Known lists them).
type HostKeyError struct {
	Host, Addr string
	// KeyType and Fingerprint ("SHA256:...") describe the offered key.
	KeyType, Fingerprint string
	// Known are the keys recorded for this host; empty when unknown.
	Known []RecordedKey
	// Files are the known_hosts files that were consulted.
	Files []string
}

// RecordedKey is a host key line found in a known_hosts file.
type RecordedKey struct {
	File                 string
	Line                 int
	KeyType, Fingerprint string
}

// Mismatch reports whether the host is known with a different key.
func (e *HostKeyError) Mismatch() bool { return len(e.Known) > 0 }

func (e *HostKeyError) Error() string {
	var b strings.Builder
	if !e.Mismatch() {
		fmt.Fprintf(&b, "ssh %s (%s): host key %s %s is unknown (checked %s) and is not trusted on first use; compare it with the host's "+
			"own (on its console: ssh-keygen -lf on its /etc/ssh/ssh_host_*_key.pub), then record it in %s (ssh-keyscan), "+
			"or run once with --accept-new-host-keys, which records it there",
			e.Host, e.Addr, e.KeyType, e.Fingerprint, strings.Join(e.Files, ", "), e.Files[len(e.Files)-1])
		return b.String()
	}
	fmt.Fprintf(&b, "ssh %s (%s): HOST KEY MISMATCH: the host offered %s %s but ", e.Host, e.Addr, e.KeyType, e.Fingerprint)
	for i, k := range e.Known {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%d records %s %s", k.File, k.Line, k.KeyType, k.Fingerprint)
	}
	fmt.Fprintf(&b, "; refusing to connect (someone may be intercepting the connection, or the host was reinstalled: if so, remove the old key with ssh-keygen -R '%s' -f <file>)",
		knownhosts.Normalize(e.Addr))
	return b.String()
}

// hostKeys verifies host keys for one dial.
type hostKeys struct {
	cfg      Config
	existing []string // files that exist
	check    ssh.HostKeyCallback
}

func newHostKeys(cfg Config) (*hostKeys, error) {
	h := &hostKeys{cfg: cfg}
	for _, f := range cfg.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			h.existing = append(h.existing, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("ssh %s: known_hosts: %w", cfg.Host, err)
		}
	}
	db, err := readKnownHosts(h.existing...)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: known_hosts: %w", cfg.Host, err)
	}
	h.check = db.check
	return h, nil
}

// algorithms returns the host key algorithms of the keys recorded for
// addr, so the server is asked for a key type we can verify (a host known
// by its ECDSA key must not be reported as changed because it prefers to
// offer Ed25519). Nil means "any": the host is unknown.
func (h *hostKeys) algorithms(addr string) []string {
	_, priv, _ := ed25519.GenerateKey(nil)
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	err = h.check(addr, fakeAddr(addr), probe.PublicKey())
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// callback is the ssh.HostKeyCallback: known keys pass, a mismatch is a
// *HostKeyError, an unknown host is recorded when AcceptNewHostKeys is set.
func (h *hostKeys) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.check(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		return fmt.Errorf("ssh %s (%s): host key %s is revoked at %s:%d", h.cfg.Host, h.cfg.Addr,
			ssh.FingerprintSHA256(key), revoked.Revoked.Filename, revoked.Revoked.Line)
	case !errors.As(err, &ke):
		return fmt.Errorf("ssh %s (%s): host key check: %w", h.cfg.Host, h.cfg.Addr, err)
	}
	hkErr := &HostKeyError{
		Host: h.cfg.Host, Addr: h.cfg.Addr,
		KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key),
		Files: h.cfg.KnownHosts,
	}
	for _, k := range ke.Want {
		hkErr.Known = append(hkErr.Known, RecordedKey{
			File: k.Filename, Line: k.Line,
			KeyType: k.Key.Type(), Fingerprint: ssh.FingerprintSHA256(k.Key),
		})
	}
	if hkErr.Mismatch() || !h.cfg.AcceptNewHostKeys {
		return hkErr
	}
	file := h.cfg.KnownHosts[len(h.cfg.KnownHosts)-1]
	if err := appendKnownHost(file, hostname, key); err != nil {
		return fmt.Errorf("ssh %s (%s): recording new host key %s: %w", h.cfg.Host, h.cfg.Addr, hkErr.Fingerprint, err)
	}
	h.cfg.logf("ssh %s (%s): trusted new host key %s %s on first use, recorded in %s",
		h.cfg.Host, h.cfg.Addr, hkErr.KeyType, hkErr.Fingerprint, file)
	return nil
}

// appendKnownHost appends one plain (unhashed) OpenSSH known_hosts line,
// creating the file (0600) and its directory (0700) when needed.
func appendKnownHost(file, hostname string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// fakeAddr turns "host:port" into a net.Addr for probing the database.
type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
