// Package sim is the simulated XenServer host: the simulated xapi
// (hosts/sim/xapid) driving dom0's Open vSwitch (hosts/sim/ovs, real or
// modelled), dom0's SSH server (hosts/sim/sshd), and, for every running
// guest, its own switch and SSH server on a loopback address of its own.
// docs/simulator.md says what is real and what is modelled.
package sim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/sim/hostnet"
	"xenlab/hosts/sim/internal/netns"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

// GuestSSHPort is the port every guest's SSH server listens on, each guest
// on its own loopback address (the IP its guest metrics report), when this
// process may not bind port 22 there (Endpoints.GuestSSHPort says which).
const GuestSSHPort = 2222

// dom0Hostname is the simulated host's name: its host record's hostname
// and name_label, and what `hostname` prints in dom0.
const dom0Hostname = "xenserver-sim"

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
	// Version is the XenServer release the host poses as: "6.2", "7.1" or
	// "8.2" (xapid.Releases); "" is xapid.DefaultRelease, 6.2, the
	// XenServer of the seed lab. It sets software_version, the API version,
	// dom0's files that name the release and dom0's python (Python 2 on
	// 6.x and 7.x when this machine has one).
	Version string
	// AuthFailDelay is xapi's pause before SESSION_AUTHENTICATION_FAILED
	// (xapid.RealAuthFailDelay on a real host); zero for none.
	AuthFailDelay time.Duration
	// InstallTime is the modelled duration of an installer run
	// (xapid.Options.InstallTime); zero for xapid.DefaultInstallTime.
	InstallTime time.Duration
	// Logf receives the simulator's log lines; nil means log.Printf.
	Logf func(format string, args ...any)
	// Fault, if set, may fail or drop an xapi call (xapid.Options.Fault).
	Fault func(n int64, method string) *xapid.Fault
	// FaultFrom is Fault told the call's User-Agent (xapid.Options.FaultFrom).
	FaultFrom func(userAgent string, n int64, method string) *xapid.Fault
	// Latency, if set, delays each xapi call by method name
	// (xapid.Options.Latency, xapid.LatencyByClass): a latency profile
	// for benchmarks (bench/).
	Latency func(method string) time.Duration
	// GuestMetricsDelay is how long after VM.start a guest's IP may appear
	// at the earliest (xapid.Options.GuestMetricsDelay): its boot time.
	GuestMetricsDelay time.Duration
}

// Host is a running simulated XenServer host.
type Host struct {
	dlogs   dom0Logs // dom0's xensource.log and openvswitch logs
	opts    Options
	dir     string
	tempDir bool
	dirLock *os.File // held while the host runs (lockDir)
	logf    func(string, ...any)
	state   simState
	creds   credentials

	xapi        *xapid.Server
	xapiURL     string // HTTPS
	xapiHTTPURL string
	guestPort   int // every guest's SSH port
	dom0        *sshd.Server
	dom0SW      ovs.Switch
	hnet        *hostnet.Net // the host's own network; nil: this machine's loopback (simnet.go)

	release xapid.Release
	python  string // the interpreter behind dom0's python

	knownMu sync.Mutex // serialises writes of known_hosts

	mu     sync.Mutex
	guests map[string]*guest // by VM uuid
	// goneHandshakes are the SSH handshakes of guests since stopped.
	goneHandshakes int64
	// guestStarts and guestStartTime count the guests started (bootGuest:
	// switch, devices, SSH server) and the time that took, the
	// simulator's own cost (Counters).
	guestStarts    int64
	guestStartTime time.Duration
	guestResumes   int64 // guests kept while suspended and resumed as they were
	closed         bool
	// guestLocks serialise the boots and stops of one guest (by VM uuid):
	// xapi boots a guest in the background, and a stop or a second start
	// may come while a boot is still starting the guest's switch.
	guestLocks map[string]*guestLock
}

// guestLock is one guest's lock and how many hold or wait for it.
type guestLock struct {
	mu    sync.Mutex
	users int
}

// lockGuest takes the lock of the guest of a VM and returns its release.
func (h *Host) lockGuest(vmUUID string) func() {
	h.mu.Lock()
	if h.guestLocks == nil {
		h.guestLocks = map[string]*guestLock{}
	}
	l := h.guestLocks[vmUUID]
	if l == nil {
		l = &guestLock{}
		h.guestLocks[vmUUID] = l
	}
	l.users++
	h.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		h.mu.Lock()
		if l.users--; l.users == 0 {
			delete(h.guestLocks, vmUUID)
		}
		h.mu.Unlock()
	}
}

type guest struct {
	name string
	dir  string            // guests/<vm uuid>
	ip   string            // where its SSH server listens
	nets map[string]string // what its guest metrics report: "<device>/ip" -> address
	root string
	sw   ovs.Switch
	ssh  *sshd.Server
	vifs []xapid.GuestVIF // as started
	// keptFor is the suspend image (VDI uuid) the guest is kept for while
	// its VM is suspended (suspendGuest), "" while it runs.
	keptFor string
	// release lets go of the guest's network namespace (simnet.go).
	release func()
}

// Start brings the simulated host up: switch and SSH server for dom0, then
// xapi over HTTPS on dom0's loopback address. Close stops everything.
func Start(ctx context.Context, opts Options) (*Host, error) {
	h := &Host{opts: opts, dir: opts.Dir, logf: opts.Logf, guests: map[string]*guest{}}
	if h.logf == nil {
		h.logf = log.Printf
	}
	rel, err := xapid.LookupRelease(opts.Version)
	if err != nil {
		return nil, err
	}
	h.release = rel
	var note string
	if h.python, note = xapid.PluginPython(rel); note != "" {
		h.logf("sim: %s", note)
	}
	if h.dir == "" {
		reapTempDirs(h.logf)
		d, err := os.MkdirTemp("", tempPrefix)
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
	if h.dirLock, err = lockDir(h.dir, h.tempDir); err != nil {
		return nil, err
	}
	// A simulator killed here left its switches' short run directories in
	// the system's temporary directory; a guest that never boots again
	// would never clear its own.
	ovs.RemoveShortRunDirs(h.dir)
	if h.state, err = loadState(h.dir); err != nil {
		return nil, err
	}
	if h.creds, err = loadCredentials(h.dir); err != nil {
		return nil, err
	}
	if err := h.startNet(ctx); err != nil {
		return nil, err
	}
	h.chooseGuestPort()
	if err := h.startDom0(ctx); err != nil {
		return nil, err
	}
	if err := h.startXAPI(ctx); err != nil {
		return nil, err
	}
	if err := h.keepPorts(); err != nil {
		return nil, err
	}
	if h.dom0.Isolation() != sshd.IsolationMountNS {
		h.logf("sim: no mount namespaces here (as root), nor user namespaces and nsenter (without root): the hosts' commands and plugins run on this " +
			"machine's file system as this user, with no root of their own, and can read and write what this user can; " +
			"a daemon that clears its environment outlives the simulator (docs/simulator.md, \"What protects this machine\")")
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
	sw, err := h.openSwitch(ctx, filepath.Join(root, "run", "ovs"), "dom0", h.dom0NS())
	if err != nil {
		return fmt.Errorf("dom0's Open vSwitch: %w", err)
	}
	h.dom0SW = sw
	cfg := sshd.Config{
		Name:        "dom0",
		Root:        filepath.Join(root, "fs"),
		Addr:        h.state.dom0IP() + ":0",
		HostKeyFile: filepath.Join(root, "ssh_host_ed25519_key"),
		Users: map[string]sshd.User{
			"root": h.user("/root"),
		},
		Env:           []string{"PATH=" + sw.BinDir()},
		Skeleton:      dom0Skeleton(h.release),
		Isolation:     h.opts.Isolation,
		Logf:          h.logf,
		Hostname:      dom0Hostname,
		ReadOnlyBinds: withSwitchBinds(dom0Binds(h.python), sw),
		KeepPaths:     sw.ToolDirs(),
		Builtins:      switchBuiltins(sw),
		NetNS:         h.dom0NS(),
	}
	defer func() {
		if h.dom0 != nil {
			if err := linkDom0Python(h.dom0, h.python); err != nil {
				h.logf("sim: dom0's python: %v", err)
			}
			if err := useSystemTools(h.dom0, sw); err != nil {
				h.logf("sim: dom0's switch tools: %v", err)
			}
		}
	}()
	// SSH on 22 of dom0's address, as on a real host, where this process
	// may bind it and it is free; else any free port.
	if addr, fixed := preferredAddr(h.state.dom0IP(), realSSHPort); fixed {
		c := cfg
		c.Addr = addr
		if h.dom0, err = sshd.Start(ctx, c); err == nil {
			return nil
		}
		h.logf("sim: dom0's SSH cannot listen on %s (%v): on a free port instead", addr, err)
	}
	if prev := h.state.Ports; prev != nil && prev.Dom0SSH != 0 { // the port of the last start, where it is free
		c := cfg
		c.Addr = net.JoinHostPort(h.state.dom0IP(), strconv.Itoa(prev.Dom0SSH))
		if h.dom0, err = sshd.Start(ctx, c); err == nil {
			return nil
		}
		h.logf("sim: dom0's SSH cannot listen on %s again (%v): on a free port instead", c.Addr, err)
	}
	if h.dom0, err = sshd.Start(ctx, cfg); err != nil {
		return fmt.Errorf("dom0's SSH server: %w", err)
	}
	return nil
}

// keepPorts records in the state the free ports xapi and dom0's SSH took
// (none where they have a real host's), for the next start to take again.
func (h *Host) keepPorts() error {
	p := &simPorts{}
	if _, fixed := preferredAddr(h.state.dom0IP(), xapiHTTPSPort); !fixed || portOf(h.xapiURL) != xapiHTTPSPort {
		p.XAPI = portOf(h.xapiURL)
	}
	if _, fixed := preferredAddr(h.state.dom0IP(), xapiHTTPPort); !fixed || portOf(h.xapiHTTPURL) != xapiHTTPPort {
		p.XAPIHTTP = portOf(h.xapiHTTPURL)
	}
	if _, fixed := preferredAddr(h.state.dom0IP(), realSSHPort); !fixed || portOf(h.dom0.Addr()) != realSSHPort {
		p.Dom0SSH = portOf(h.dom0.Addr())
	}
	if *p == (simPorts{}) {
		p = nil
	}
	if p == h.state.Ports || (p != nil && h.state.Ports != nil && *p == *h.state.Ports) {
		return nil
	}
	h.state.Ports = p
	return saveState(h.dir, h.state)
}

// openSwitch opens the Open vSwitch of one host (dom0 or a guest) in the
// mode the options say. In auto mode, where real Open vSwitch could run
// here but did not start, it says why before taking the model, so a
// simulator never falls back to the model without a word.
func (h *Host) openSwitch(ctx context.Context, dir, who string, ns *netns.NS) (ovs.Switch, error) {
	if ns != nil { // the host's own network (simnet.go) forwards frames only on real switches
		return ovs.OpenIn(ctx, dir, ovs.ModeReal, ns)
	}
	mode := h.opts.OVS
	if (mode != ovs.ModeAuto && mode != "") || ovs.RealAvailable() != nil {
		return ovs.Open(ctx, dir, mode)
	}
	sw, err := ovs.Open(ctx, dir, ovs.ModeReal)
	if err == nil || !errors.Is(err, ovs.ErrRealUnavailable) {
		return sw, err
	}
	h.logf("sim: %s's Open vSwitch: %v; using the model instead", who, err)
	return ovs.Open(ctx, dir, ovs.ModeModel)
}

// chooseGuestPort is the port of every guest's SSH server: 22, as in a
// real domU, where this process may bind it on the guests' addresses, else
// GuestSSHPort.
func (h *Host) chooseGuestPort() {
	h.guestPort = GuestSSHPort
	if h.hnet != nil { // each guest has its own namespace: 22 is free
		h.guestPort = realSSHPort
		return
	}
	if addr, fixed := preferredAddr(h.state.guestIP(0), realSSHPort); fixed && canListen(addr) {
		h.guestPort = realSSHPort
	}
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
		GuestMetricsDelay: h.opts.GuestMetricsDelay, // a guest's boot time (bench/)

		Host:          (*dom0Host)(h),
		User:          "root",
		Password:      h.creds.password,
		AuthFailDelay: h.opts.AuthFailDelay,
		Fault:         h.opts.Fault,
		FaultFrom:     h.opts.FaultFrom,
		Latency:       h.opts.Latency,
		StateFile:     filepath.Join(h.dir, "xapi-db.json"),
		// In the state directory, not the system's temporary one: a
		// SIGKILL leaves nothing there, and the next start replaces it.
		PluginHelpersDir: filepath.Join(h.dir, "xapi-python"),
		Seed:             xapid.Seed{Address: h.state.dom0IP(), Version: h.release.Name, HostName: dom0Hostname},
		Python:           h.python,
		InstallTime:      h.opts.InstallTime,
		Logf:             h.xapiLogf,
	})
	if err != nil {
		return fmt.Errorf("simulated xapi: %w", err)
	}
	h.xapi = srv
	var prevHTTPS, prevHTTP int
	if p := h.state.Ports; p != nil {
		prevHTTPS, prevHTTP = p.XAPI, p.XAPIHTTP
	}
	if h.xapiURL, err = h.listenXAPI(ctx, xapiHTTPSPort, prevHTTPS, h.creds.tlsConfig()); err != nil {
		return err
	}
	if h.xapiHTTPURL, err = h.listenXAPI(ctx, xapiHTTPPort, prevHTTP, nil); err == nil {
		err = h.startDom0Services(ctx)
	}
	if err == nil {
		h.xapiLogf("xapi %s (simulated) serving %s", h.release.Name, h.xapiURL)
	}
	return err
}

// listenXAPI serves xapi on port of dom0's address where this process may
// bind it and it is free, else on prev (the free port of the last start,
// if any) where it is still free, else on a free port, over TLS when
// tlsConfig is set.
func (h *Host) listenXAPI(ctx context.Context, port, prev int, tlsConfig *tls.Config) (string, error) {
	bg := context.WithoutCancel(ctx)
	if addr, fixed := preferredAddr(h.state.dom0IP(), port); fixed {
		url, err := h.listenXAPIOn(bg, addr, tlsConfig)
		if err == nil {
			return url, nil
		}
		h.logf("sim: xapi cannot listen on %s (%v): on a free port instead", addr, err)
	}
	if prev != 0 {
		addr := net.JoinHostPort(h.state.dom0IP(), strconv.Itoa(prev))
		url, err := h.listenXAPIOn(bg, addr, tlsConfig)
		if err == nil {
			return url, nil
		}
		h.logf("sim: xapi cannot listen on %s again (%v): on a free port instead", addr, err)
	}
	return h.listenXAPIOn(bg, h.state.dom0IP()+":0", tlsConfig)
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
	if h.hnet != nil {
		errs = append(errs, h.hnet.Close())
	}
	if h.tempDir {
		errs = append(errs, os.RemoveAll(h.dir))
	}
	if h.dirLock != nil {
		h.dirLock.Close() // releases the lock
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
