// Package hosts opens the connections to one lab host: one XAPI session,
// one SSH connection to dom0 and one to the lab's domU (per boot of domU),
// each made on first use and reused by every step after it. The packages
// below it do the talking: hosts/xapi, hosts/ssh, and hosts/sim (the
// simulated host).
package hosts

import (
	"context"
	"errors"
	"sync"

	sshc "xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// Options apply to every host of a lab.
type Options struct {
	// AcceptNewHostKeys trusts and records SSH host keys seen for the
	// first time (never a changed one).
	AcceptNewHostKeys bool
	// Logf receives connection progress lines; never secrets.
	Logf func(format string, args ...any)
	// Gate, when set, runs before the host is first used, right after the
	// xapi login, with the host and its session: the run commands take the
	// host's lock there (hosts/lock). Until it succeeds, every use of the
	// host (XAPI, Dom0, DomU, DialGuest) runs it again and fails with its error.
	Gate func(ctx context.Context, h *Host, c *xapi.Client) error
}

// Host is one XenServer host of a lab and its connections.
type Host struct {
	Config localrc.Host
	opts   Options

	xapiMu sync.Mutex
	xapi   *xapi.Client
	// xapiRefused is a login the host refused (wrong credentials): the
	// answer for the rest of this Host's life.
	xapiRefused error
	gated       bool // Options.Gate succeeded
	dom0Mu      sync.Mutex
	dom0        *sshc.Client
	domUMu      sync.Mutex
	domU        *sshc.Client
	domUBoot    Boot   // the boot of domU that domU is connected to
	domUUser    string // and as whom
	domUShakes  int64
	invMu       sync.Mutex
	inv         inventory
}

// New returns a Host; nothing is dialled until XAPI, Dom0 or DomU is
// called.
func New(cfg localrc.Host, opts Options) *Host {
	return &Host{Config: cfg, opts: opts}
}

// Name is the host's name in the lab file.
func (h *Host) Name() string { return h.Config.Name }

// XAPI returns the host's XAPI session, logging in on first use.
func (h *Host) XAPI(ctx context.Context) (*xapi.Client, error) {
	h.xapiMu.Lock()
	defer h.xapiMu.Unlock()
	if h.xapi != nil {
		return h.gate(ctx)
	}
	if h.xapiRefused != nil {
		return nil, h.xapiRefused
	}
	c, err := xapi.Dial(ctx, xapi.Options{
		URL:         h.Config.XAPIURL,
		User:        h.Config.XAPIUser,
		Password:    h.Config.XAPIPassword,
		Fingerprint: h.Config.XAPIFingerprint,
	})
	if err != nil {
		// A refused login is not tried again by the other steps of the
		// run: real xapi answers it after a delay, and every failed root
		// login is logged on the host (and may trip its lockout).
		if xapi.HasCode(err, "SESSION_AUTHENTICATION_FAILED") {
			h.xapiRefused = err
		}
		return nil, err // names the URL; the step's name names the host
	}
	h.xapi = c
	return h.gate(ctx)
}

// gate runs Options.Gate until it succeeds once. The caller holds xapiMu,
// so the host's other users wait for it.
func (h *Host) gate(ctx context.Context) (*xapi.Client, error) {
	if h.gated || h.opts.Gate == nil {
		return h.xapi, nil
	}
	if err := h.opts.Gate(ctx, h, h.xapi); err != nil {
		return nil, err
	}
	h.gated = true
	return h.xapi, nil
}

// passGate makes sure Options.Gate has run before the host is used
// another way than xapi.
func (h *Host) passGate(ctx context.Context) error {
	if h.opts.Gate == nil {
		return nil
	}
	_, err := h.XAPI(ctx)
	return err
}

// Dom0 returns the SSH connection to dom0, dialling it on first use.
func (h *Host) Dom0(ctx context.Context) (*sshc.Client, error) {
	if err := h.passGate(ctx); err != nil {
		return nil, err
	}
	h.dom0Mu.Lock()
	defer h.dom0Mu.Unlock()
	if h.dom0 != nil {
		return h.dom0, nil
	}
	cfg := sshc.Config{
		Host:              "dom0",
		Addr:              h.Config.SSHAddr(),
		User:              h.Config.SSHUser,
		KnownHosts:        []string{h.Config.KnownHosts},
		AcceptNewHostKeys: h.opts.AcceptNewHostKeys,
		Logf:              h.opts.Logf,
		Password:          h.Config.SSHPassword, // unset = no password authentication
	}
	if h.Config.SSHKey != "" {
		cfg.KeyFiles = []string{h.Config.SSHKey}
	} else {
		cfg.UseAgent = true // when SSH_AUTH_SOCK reaches one; a password works alone
	}
	c, err := sshc.Dial(ctx, cfg)
	if err != nil {
		return nil, err // names dom0's address; the step's name names the host
	}
	h.dom0 = c
	return c, nil
}

// Boot names one boot of a guest: its address and the domain xapi runs
// it in (VM.domid, new at every start, reboot and resume). A connection
// made to one boot is not the connection to the next.
type Boot struct {
	Addr   string
	Domain int64
}

// DomU returns the SSH connection to the lab's domU as user, dialling it
// on first use (DialGuest's rules: the lab's known_hosts, dom0's key, then
// password) and sharing it with every later step, as Dom0 does. When domU
// runs in another boot than the kept connection's (it rebooted, was
// resumed or reverted: a new domid or address), the old connection is
// closed and a new one made; so it is when another user asks.
func (h *Host) DomU(ctx context.Context, boot Boot, user string, password localrc.Secret) (*sshc.Client, error) {
	h.domUMu.Lock()
	defer h.domUMu.Unlock()
	if h.domU != nil && h.domUBoot == boot && h.domUUser == user {
		return h.domU, nil
	}
	h.dropDomULocked()
	c, err := h.DialGuest(ctx, "domU", boot.Addr, user, password)
	if err != nil {
		return nil, err
	}
	h.domU, h.domUBoot, h.domUUser = c, boot, user
	return c, nil
}

// DropDomU closes the connection to domU, if any: a step that stops domU
// or moves it to a new domain calls it, so no later step uses a
// connection to a boot that is gone. A command that failed on the
// connection calls it too: the next use dials again.
func (h *Host) DropDomU() {
	h.domUMu.Lock()
	defer h.domUMu.Unlock()
	h.dropDomULocked()
}

func (h *Host) dropDomULocked() {
	if h.domU != nil {
		h.domUShakes += h.domU.Handshakes()
		h.domU.Close()
		h.domU = nil
	}
	h.domUBoot, h.domUUser = Boot{}, ""
}

// DomUHandshakes counts the SSH handshakes of the host's connections to
// domU so far (each boot of domU costs one).
func (h *Host) DomUHandshakes() int64 {
	h.domUMu.Lock()
	defer h.domUMu.Unlock()
	n := h.domUShakes
	if h.domU != nil {
		n += h.domU.Handshakes()
	}
	return n
}

// Counters are the round trips and handshakes a run cost, for reports
// and benchmarks.
type Counters struct {
	XAPIRoundTrips int64 `json:"xapi_round_trips"`
	SSHHandshakes  int64 `json:"ssh_handshakes"`
}

// Counters returns what this host's connections have cost so far.
func (h *Host) Counters() Counters {
	var c Counters
	h.xapiMu.Lock()
	if h.xapi != nil {
		c.XAPIRoundTrips = h.xapi.RoundTrips()
	}
	h.xapiMu.Unlock()
	h.dom0Mu.Lock()
	if h.dom0 != nil {
		c.SSHHandshakes = h.dom0.Handshakes()
	}
	h.dom0Mu.Unlock()
	return c
}

// Close logs out of xapi and closes the SSH connection.
func (h *Host) Close(ctx context.Context) error {
	var errs []error
	h.xapiMu.Lock()
	if h.xapi != nil {
		errs = append(errs, h.xapi.Close(ctx))
		h.xapi = nil
		h.gated = false
	}
	h.xapiMu.Unlock()
	h.invMu.Lock()
	h.inv = inventory{}
	h.invMu.Unlock()
	h.dom0Mu.Lock()
	if h.dom0 != nil {
		errs = append(errs, h.dom0.Close())
		h.dom0 = nil
	}
	h.dom0Mu.Unlock()
	h.DropDomU()
	return errors.Join(errs...)
}

// DialGuest connects over SSH to a guest of this host at addr, checking
// its host key under the same rules as dom0's: the lab's known_hosts, and
// trust on first use only with AcceptNewHostKeys. It offers dom0's key
// (devstack put dom0's key in domU's authorized_keys) and then password.
func (h *Host) DialGuest(ctx context.Context, name, addr, user string, password localrc.Secret) (*sshc.Client, error) {
	if err := h.passGate(ctx); err != nil {
		return nil, err
	}
	var keys []string
	if h.Config.SSHKey != "" {
		keys = []string{h.Config.SSHKey}
	}
	c, err := sshc.Dial(ctx, sshc.Config{
		KeyFiles:          keys,
		Host:              name,
		Addr:              addr,
		User:              user,
		Password:          password,
		KnownHosts:        []string{h.Config.KnownHosts},
		AcceptNewHostKeys: h.opts.AcceptNewHostKeys,
		Logf:              h.opts.Logf,
		Retry:             sshc.RetryPolicy{Attempts: 100},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
