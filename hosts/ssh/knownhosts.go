package ssh

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"xenlab/internal/atomicfile"
)

// knownHostsDB is the known_hosts files, read the way OpenSSH reads them
// (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT", hostfile.c, match.c): a line
// matches a host when one of its comma-separated patterns matches the
// host's name ("host", or "[host]:port" for a port other than 22) and
// none of its negated ("!") patterns does; patterns use "*" and "?" and
// match case-insensitively; "|1|salt|hash" lines match by HMAC-SHA1 of
// that name. "@revoked" lines revoke a key for every host;
// "@cert-authority" lines are for certificates, which xenlab does not
// use, and never match. Unparsable lines are skipped, as OpenSSH does.
type knownHostsDB struct {
	entries []knownHostsEntry
}

type knownHostsEntry struct {
	file     string
	line     int
	marker   string // "", "revoked" or "cert-authority"
	patterns []string
	key      ssh.PublicKey
}

// maxKnownHostsSize bounds one known_hosts file.
const maxKnownHostsSize = 16 << 20

func readKnownHosts(files ...string) (*knownHostsDB, error) {
	db := &knownHostsDB{}
	for _, file := range files {
		if err := db.read(file); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func (db *knownHostsDB) read(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKnownHostsSize+1))
	if err != nil {
		return err
	}
	if len(data) > maxKnownHostsSize {
		return fmt.Errorf("%s is larger than %d bytes", file, maxKnownHostsSize)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxKnownHostsSize)
	for n := 1; sc.Scan(); n++ {
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts(sc.Bytes())
		if err != nil {
			continue // blank, comment, or a line OpenSSH would skip too
		}
		db.entries = append(db.entries, knownHostsEntry{file: file, line: n, marker: marker, patterns: hosts, key: key})
	}
	return sc.Err()
}

// hostName is the name OpenSSH looks a host up by: "host" for port 22,
// "[host]:port" otherwise, in lower case.
func hostName(addr string) string {
	return strings.ToLower(knownhosts.Normalize(addr))
}

// matching returns the host-key lines (not @revoked, not
// @cert-authority) whose patterns match name.
func (db *knownHostsDB) matching(name string) []knownHostsEntry {
	var out []knownHostsEntry
	for _, e := range db.entries {
		if e.marker == "" && matchHostPatterns(name, e.patterns) {
			out = append(out, e)
		}
	}
	return out
}

// revoked returns the @revoked line for key, if any.
func (db *knownHostsDB) revoked(key ssh.PublicKey) (knownHostsEntry, bool) {
	for _, e := range db.entries {
		if e.marker == "revoked" && keysEqual(e.key, key) {
			return e, true
		}
	}
	return knownHostsEntry{}, false
}

// matchHostPatterns is OpenSSH's match_hostname: a negated pattern that
// matches rejects the line; otherwise any positive match accepts it.
func matchHostPatterns(name string, patterns []string) bool {
	matched := false
	for _, p := range patterns {
		if strings.HasPrefix(p, "|1|") {
			if matchHashed(name, p) {
				matched = true
			}
			continue
		}
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if !globMatch(strings.ToLower(p), name) {
			continue
		}
		if negated {
			return false
		}
		matched = true
	}
	return matched
}

// matchHashed matches a "|1|base64(salt)|base64(HMAC-SHA1(salt, name))"
// pattern.
func matchHashed(name, pattern string) bool {
	parts := strings.Split(pattern, "|")
	if len(parts) != 4 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	want, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), want)
}

// globMatch is OpenSSH's match_pattern: "*" matches any run of
// characters, "?" any one character, anything else itself.
func globMatch(pattern, s string) bool {
	// Iterative matching with backtracking to the last '*': linear in
	// practice, never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// plainKey is the key a certificate certifies, or key itself.
func plainKey(key ssh.PublicKey) ssh.PublicKey {
	if cert, ok := key.(*ssh.Certificate); ok {
		return cert.Key
	}
	return key
}

func keysEqual(a, b ssh.PublicKey) bool {
	return bytes.Equal(plainKey(a).Marshal(), plainKey(b).Marshal())
}

// check verifies key for the host dialled as hostname, at remote. The
// lines matching the host's name decide; when none does, the lines
// matching its IP address do (a host recorded by address and dialled by
// name). Any matching line with key accepts it; matching lines without
// it make a mismatch (*knownhosts.KeyError with Want); no matching line
// at all makes an unknown host (a KeyError without Want).
func (db *knownHostsDB) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if e, ok := db.revoked(key); ok {
		return &knownhosts.RevokedError{Revoked: knownhosts.KnownKey{Key: e.key, Filename: e.file, Line: e.line}}
	}
	names := []string{hostName(hostname)}
	if remote != nil {
		if tcp, ok := remote.(*net.TCPAddr); ok {
			if ip := hostName(net.JoinHostPort(tcp.IP.String(), fmt.Sprint(tcp.Port))); ip != names[0] {
				names = append(names, ip)
			}
		}
	}
	for _, name := range names {
		lines := db.matching(name)
		if len(lines) == 0 {
			continue
		}
		ke := &knownhosts.KeyError{}
		for _, e := range lines {
			if keysEqual(e.key, key) {
				return nil
			}
			ke.Want = append(ke.Want, knownhosts.KnownKey{Key: e.key, Filename: e.file, Line: e.line})
		}
		return ke
	}
	return &knownhosts.KeyError{}
}

// UpdateKnownHosts rewrites a known_hosts file through edit, which gets
// its lines (without line ends) and returns the lines to keep. Writers
// take turns: an exclusive flock(2) on the file's directory is held across
// the read and the write (no lock file is left), and the new content
// replaces the file in one
// rename, keeping its mode (0600 for a new file, in a 0700 directory
// made when needed). Every process that edits the file this way (xenlab,
// the simulator) sees the others' lines.
func UpdateKnownHosts(file string, edit func(lines []string) []string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	lock, err := os.Open(filepath.Dir(file)) // the directory: the file itself is replaced
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", file, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	mode := os.FileMode(0o600)
	var lines []string
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		if fi, err := os.Stat(file); err == nil {
			mode = fi.Mode().Perm()
		}
		if s := strings.TrimRight(string(data), "\n"); s != "" {
			lines = strings.Split(s, "\n")
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	lines = edit(lines)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return atomicfile.WriteBytes(file, mode, []byte(b.String()))
}

// KnownHostComment is the comment of a known_hosts line ("" when none or
// when the line is no host key line).
func KnownHostComment(line string) string {
	_, _, _, comment, _, err := ssh.ParseKnownHosts([]byte(line))
	if err != nil {
		return ""
	}
	return comment
}

// RecordKnownHost puts one line for key into file: its patterns (host
// names, "[host]:port" for a port other than 22, as KnownHostName makes
// them) and tag as its comment, replacing the lines that carry tag. The
// tag names who recorded the key and why, so that ForgetKnownHost can take
// back exactly those lines and no other. It reports whether the file
// changed (false when it held that very line already).
func RecordKnownHost(file string, patterns []string, key ssh.PublicKey, tag string) (bool, error) {
	if len(patterns) == 0 || strings.ContainsAny(tag, " \t\n") || tag == "" {
		return false, fmt.Errorf("known_hosts %s: a recorded key needs a host pattern and a one-word tag", file)
	}
	line := knownhosts.Line(patterns, key) + " " + tag
	changed := true
	err := UpdateKnownHosts(file, func(lines []string) []string {
		out := lines[:0:0]
		for _, l := range lines {
			if l == line {
				changed = false
			}
			if KnownHostComment(l) != tag {
				out = append(out, l)
			}
		}
		return append(out, line)
	})
	return changed, err
}

// ForgetKnownHost removes from file the lines that carry tag as their
// comment, and reports how many there were. A missing file holds none.
func ForgetKnownHost(file, tag string) (int, error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	n := 0
	err := UpdateKnownHosts(file, func(lines []string) []string {
		out := lines[:0:0]
		for _, l := range lines {
			if tag != "" && KnownHostComment(l) == tag {
				n++
				continue
			}
			out = append(out, l)
		}
		return out
	})
	return n, err
}

// KnownHostName is the name known_hosts records a host under for addr
// ("host:port"): "host" for port 22, "[host]:port" otherwise.
func KnownHostName(addr string) string { return knownhosts.Normalize(addr) }
