// Package sim is the simulated XenServer host: the simulated xapi
// (hosts/sim/xapid) driving dom0's Open vSwitch (hosts/sim/ovs, real or
// modelled), dom0's SSH server (hosts/sim/sshd), and, for every running
// guest, its own switch and SSH server on a loopback address of its own.
// docs/simulator.md says what is real and what is modelled.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

// GuestSSHPort is the port every guest's SSH server listens on, each guest
// on its own loopback address (the IP its guest metrics report).
const GuestSSHPort = 2222

// Options configure a simulated host.
type Options struct {
	// Dir keeps the host's state: xapi's database, host keys, dom0's and
	// the guests' file systems, credentials and the lab file. "" means a
	// temporary directory that Close removes.
	Dir string
	// OVS chooses real Open vSwitch processes or the model; "" is auto.
	OVS ovs.Mode
	// Isolation chooses how commands see their host's files; "" is auto.
	Isolation sshd.Isolation
	// AuthFailDelay is xapi's pause before SESSION_AUTHENTICATION_FAILED
	// (xapid.RealAuthFailDelay on a real host); zero for none.
	AuthFailDelay time.Duration
	// Logf receives the simulator's log lines; nil means log.Printf.
	Logf func(format string, args ...any)
	// Fault, if set, may fail or drop an xapi call (xapid.Options.Fault).
	Fault func(n int64, method string) *xapid.Fault
}

// Host is a running simulated XenServer host.
type Host struct {
	opts    Options
	dir     string
	tempDir bool
	logf    func(string, ...any)
	state   simState
	creds   credentials

	xapi    *xapid.Server
	xapiURL string
	dom0    *sshd.Server
	dom0SW  ovs.Switch

	knownMu sync.Mutex // serialises writes of known_hosts

	mu     sync.Mutex
	guests map[string]*guest // by VM uuid
	closed bool
}

type guest struct {
	name string
	ip   string
	root string
	sw   ovs.Switch
	ssh  *sshd.Server
}

// Start brings the simulated host up: switch and SSH server for dom0, then
// xapi over HTTPS on dom0's loopback address. Close stops everything.
func Start(ctx context.Context, opts Options) (*Host, error) {
	h := &Host{opts: opts, dir: opts.Dir, logf: opts.Logf, guests: map[string]*guest{}}
	if h.logf == nil {
		h.logf = log.Printf
	}
	if h.dir == "" {
		d, err := os.MkdirTemp("", "xenlab-sim-")
		if err != nil {
			return nil, err
		}
		h.dir, h.tempDir = d, true
	}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	if h.state, err = loadState(h.dir); err != nil {
		return nil, err
	}
	if h.creds, err = loadCredentials(h.dir); err != nil {
		return nil, err
	}
	if err := h.startDom0(ctx); err != nil {
		return nil, err
	}
	if err := h.startXAPI(ctx); err != nil {
		return nil, err
	}
	if err := h.writeKnownHosts(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(h.dir, "lab.hcl"), h.LabFile(), 0o600); err != nil {
		return nil, err
	}
	ok = true
	return h, nil
}

func (h *Host) startDom0(ctx context.Context) error {
	root := filepath.Join(h.dir, "dom0")
	sw, err := ovs.Open(ctx, filepath.Join(root, "run", "ovs"), h.opts.OVS)
	if err != nil {
		return fmt.Errorf("dom0's Open vSwitch: %w", err)
	}
	h.dom0SW = sw
	h.dom0, err = sshd.Start(ctx, sshd.Config{
		Name:        "dom0",
		Root:        filepath.Join(root, "fs"),
		Addr:        h.state.dom0IP() + ":0",
		HostKeyFile: filepath.Join(root, "ssh_host_ed25519_key"),
		Users: map[string]sshd.User{
			"root": h.user("/root"),
		},
		Env:       []string{"PATH=" + sw.BinDir()},
		Skeleton:  dom0Skeleton(),
		Isolation: h.opts.Isolation,
		Logf:      h.logf,
	})
	if err != nil {
		return fmt.Errorf("dom0's SSH server: %w", err)
	}
	return nil
}

// user is an account on a simulated host: the simulator's client key and
// the host password both let it in.
func (h *Host) user(home string) sshd.User {
	return sshd.User{
		Password:       h.creds.password,
		AuthorizedKeys: []ssh.PublicKey{h.creds.clientKey.PublicKey()},
		Home:           home,
	}
}

func (h *Host) startXAPI(ctx context.Context) error {
	srv, err := xapid.New(xapid.Options{
		Host:          (*dom0Host)(h),
		User:          "root",
		Password:      h.creds.password,
		AuthFailDelay: h.opts.AuthFailDelay,
		Fault:         h.opts.Fault,
		StateFile:     filepath.Join(h.dir, "xapi-db.json"),
		Seed:          xapid.Seed{Address: h.state.dom0IP()},
		Logf:          h.logf,
	})
	if err != nil {
		return fmt.Errorf("simulated xapi: %w", err)
	}
	h.xapi = srv
	h.xapiURL, err = srv.Listen(context.WithoutCancel(ctx), h.state.dom0IP()+":0", h.creds.tlsConfig())
	return err
}

// Close stops the guests, xapi, dom0's SSH server and switch, and removes
// the directory if it was temporary. It is safe to call more than once.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	guests := h.guests
	h.guests = map[string]*guest{}
	h.mu.Unlock()

	var errs []error
	if h.xapi != nil {
		errs = append(errs, h.xapi.Close())
	}
	for _, g := range guests {
		errs = append(errs, g.stop())
	}
	if h.dom0 != nil {
		errs = append(errs, h.dom0.Close())
	}
	if h.dom0SW != nil {
		errs = append(errs, h.dom0SW.Close())
	}
	if h.tempDir {
		errs = append(errs, os.RemoveAll(h.dir))
	}
	return errors.Join(errs...)
}

// Dir is the directory holding the host's state.
func (h *Host) Dir() string { return h.dir }

// GuestSwitch is the switch of a running guest, by VM uuid.
func (h *Host) GuestSwitch(vmUUID string) (ovs.Switch, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.guests[vmUUID]
	if !ok {
		return nil, false
	}
	return g.sw, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
