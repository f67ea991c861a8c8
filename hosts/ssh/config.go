package ssh

import (
	"errors"
	"fmt"
	"net"
	"time"

	"xenlab/secret"
)

// Config describes how to reach and authenticate to one host.
type Config struct {
	// Host names the host in errors and logs, e.g. "dom0" or "domU".
	Host string
	// Addr is "host:port"; a missing port means 22.
	Addr string
	// User to log in as.
	User string

	// KeyFiles are private key files (OpenSSH or PEM format).
	KeyFiles []string
	// PassphraseEnv names the environment variable holding the passphrase
	// of encrypted key files; the passphrase itself never leaves this
	// package.
	PassphraseEnv string
	// UseAgent offers the keys of the ssh-agent at $SSH_AUTH_SOCK when
	// one is set and reachable; without one, KeyFiles and Password are
	// used alone (and an error says so when there are none).
	UseAgent bool
	// Password, when set, is tried after public keys. It prints as
	// "<redacted>" with every fmt verb, so a Config can be logged safely.
	Password secret.Secret

	// KnownHosts are known_hosts files: typically the user's
	// ~/.ssh/known_hosts, then the lab's own file. Missing files are
	// treated as empty. The last one receives keys accepted with
	// AcceptNewHostKeys.
	KnownHosts []string
	// AcceptNewHostKeys trusts an unknown host on first use and records
	// its key; it never accepts a key that differs from a recorded one.
	// A host is unknown only when no line of any file matches it, as in
	// OpenSSH: a line "* <key>" or a hashed entry with another key is a
	// changed key, refused.
	AcceptNewHostKeys bool

	// Keepalive is the interval between keepalive requests; 0 means 30s,
	// negative disables keepalive.
	Keepalive time.Duration
	// DialTimeout bounds one TCP connect plus SSH handshake; 0 means 15s.
	DialTimeout time.Duration
	// Retry governs reconnect attempts while the host does not answer.
	Retry RetryPolicy

	// Logf, if set, receives progress lines (connect retries, a newly
	// trusted host key). It never receives secrets.
	Logf func(format string, args ...any)
}

// RetryPolicy is capped exponential backoff between connect attempts.
type RetryPolicy struct {
	// Attempts is the maximum number of connect attempts; 0 means 1 (no
	// retry). The context bounds the total time in any case.
	Attempts int
	// Initial is the first wait; 0 means 250ms.
	Initial time.Duration
	// Max caps the wait; 0 means 5s.
	Max time.Duration
}

const (
	defaultKeepalive   = 30 * time.Second
	defaultDialTimeout = 15 * time.Second
	defaultInitial     = 250 * time.Millisecond
	defaultMaxBackoff  = 5 * time.Second
	keepaliveMaxMissed = 3
)

// normalized returns a copy of c with defaults filled in, or an error
// naming what is missing.
func (c Config) normalized() (Config, error) {
	if c.Host == "" {
		c.Host = c.Addr
	}
	if c.Addr == "" {
		return c, errors.New("ssh: config: Addr is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.Addr = net.JoinHostPort(c.Addr, "22")
	}
	if c.User == "" {
		return c, fmt.Errorf("ssh %s: config: User is empty", c.Host)
	}
	if len(c.KeyFiles) == 0 && !c.UseAgent && !c.Password.IsSet() {
		return c, fmt.Errorf("ssh %s: config: no authentication method (KeyFiles, UseAgent or Password)", c.Host)
	}
	if len(c.KnownHosts) == 0 {
		return c, fmt.Errorf("ssh %s: config: no KnownHosts file; host keys are always verified", c.Host)
	}
	if c.Keepalive == 0 {
		c.Keepalive = defaultKeepalive
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.Retry.Attempts <= 0 {
		c.Retry.Attempts = 1
	}
	if c.Retry.Initial <= 0 {
		c.Retry.Initial = defaultInitial
	}
	if c.Retry.Max <= 0 {
		c.Retry.Max = defaultMaxBackoff
	}
	if c.Retry.Max < c.Retry.Initial {
		c.Retry.Max = c.Retry.Initial
	}
	return c, nil
}

func (c Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}
