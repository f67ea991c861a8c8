// Package xapid is the simulated xapi of the simulated XenServer host: an
// XML-RPC server with xapi's wire format, records, error codes and
// semantics (from xen-api's ocaml/xapi sources), backed by an in-memory
// database and driving dom0's switch, plugins and guests through Host.
package xapid

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RealAuthFailDelay is how long real xapi waits before answering
// SESSION_AUTHENTICATION_FAILED.
const RealAuthFailDelay = 5 * time.Second

// Options configure a Server. The zero value (plus a password) is usable.
type Options struct {
	// Host is dom0: its switch, file system and guests. nil means a fresh
	// MemHost.
	Host Host
	// User and Password are the credentials login_with_password accepts
	// (User defaults to "root"). The password is never logged.
	User, Password string
	// AuthFailDelay is the pause before SESSION_AUTHENTICATION_FAILED;
	// RealAuthFailDelay is xapi's. Zero: no pause.
	AuthFailDelay time.Duration
	// Latency, if set, returns an extra delay for each HTTP call by method
	// name ("VM.start", "Async.VM.clone"); see LatencyByClass.
	Latency func(method string) time.Duration
	// Fault, if set, is asked before each HTTP call is dispatched; n counts
	// calls from 1. A non-nil answer fails or drops that call, instead of
	// making it or (Fault.After) once it is made. Faults builds one.
	Fault func(n int64, method string) *Fault
	// FaultFrom is Fault told the client too: the call's User-Agent
	// header (xenlab's client sends "xenlab", a guest's python XenAPI
	// its own), for a test that acts on one client's calls only, such as
	// killing a xenlab process when its Nth call arrives while the
	// guests' calls go on. When set, Fault is not asked.
	FaultFrom func(userAgent string, n int64, method string) *Fault
	// StateFile, if set, persists the database as JSON: loaded by New when
	// it exists, saved shortly after each change and on Close.
	StateFile string
	// Seed describes the initial database when there is no state to load;
	// its Version also chooses the release of a loaded one.
	Seed Seed
	// PluginHelpersDir is where the server writes the XenAPIPlugin.py and
	// XenAPI.py plugins import (removed by Close, replaced by New). ""
	// means a new directory in the system's temporary directory, which a
	// killed server leaves behind: a server with a state directory of its
	// own should name one in it.
	PluginHelpersDir string
	// Python is the interpreter of dom0's `python`, which runs plugins
	// whose first line names python. "" means PluginPython of the release:
	// Python 2 for 6.x and 7.x when this machine has one.
	Python string
	// GuestMetricsDelay is how long after VM.start the guest's metrics
	// (its IP) may appear at the earliest; the Host's BootGuest decides the rest.
	GuestMetricsDelay time.Duration
	// InstallTime is how long a modelled installer run takes (installer.go);
	// zero means DefaultInstallTime.
	InstallTime time.Duration
	// Logf receives one line per notable event (plugin runs, host errors);
	// nil means log.Printf. Secrets never reach it.
	Logf func(format string, args ...any)
}

// Fault is an injected failure for one call.
type Fault struct {
	// Code and Params form the Failure response sent instead of the call's
	// result (the call is not executed).
	Code   string
	Params []string
	// Drop closes the connection without any response.
	Drop bool
	// After applies the fault once the call was made (its effects kept):
	// the answer is lost, or replaced by the failure.
	After bool
}

// LatencyByClass builds an Options.Latency from per-class delays: keys are
// class names ("VM", "network", "host"...) or full method names
// ("VM.start"), the more specific winning; "*" is the default.
func LatencyByClass(m map[string]time.Duration) func(method string) time.Duration {
	return func(method string) time.Duration {
		if d, ok := m[method]; ok {
			return d
		}
		if d, ok := m[className(method)]; ok {
			return d
		}
		return m["*"]
	}
}

// Server is a simulated xapi. It is safe for concurrent use.
type Server struct {
	opts  Options
	host  Host
	logf  func(string, ...any)
	db    *db
	hostR string // this host's ref
	// release is the XenServer version the host poses as (Seed.Version).
	release Release
	python  string // interpreter of dom0's python
	// hostMu serialises the effects on dom0 (bridges, ports, guests), so
	// that bridge creation and removal happen in the order decided.
	hostMu sync.Mutex
	// rt is runtime state of this host that is not in xapi's database.
	rt runtime
	// installs records why modelled installer runs stopped (installer.go).
	installs installState

	calls     atomic.Int64
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	saveMu    sync.Mutex
	saves     atomic.Int64 // state file writes, for tests

	pluginDir string // PYTHONPATH dir holding XenAPIPlugin.py and XenAPI.py
	urlMu     sync.Mutex
	url       string
	httpSrvs  []*http.Server
}

// runtime is host-local state: which managed networks were attached with
// network.attach, and the next domid and xapi<N> bridge counter.
type runtime struct {
	attached map[string]bool // network ref -> attached by network.attach
	bridges  map[string]bool // bridges this server created on dom0
	nextDom  int64
	bridgeN  int
	// eventRegs are the event.register subscriptions by session.
	eventRegs map[string]*eventRegistration
	// taskProbation holds the progress of the pending tasks older than
	// pendingTaskTimeout at the task collector's last pass.
	taskProbation map[string]float64
}

// New builds a server: it loads Options.StateFile when it exists, else it
// seeds a fresh database from Options.Seed. Call Close when done.
func New(opts Options) (*Server, error) {
	if opts.User == "" {
		opts.User = "root"
	}
	s := &Server{opts: opts, host: opts.Host, db: newDB(),
		rt: runtime{attached: map[string]bool{}, bridges: map[string]bool{}, nextDom: 1}}
	if s.host == nil {
		s.host = NewMemHost("")
	}
	s.db.nextWant = s.wantNext
	s.logf = opts.Logf
	if s.logf == nil {
		s.logf = log.Printf
	}
	rel, err := LookupRelease(opts.Seed.Version)
	if err != nil {
		return nil, fmt.Errorf("xapi simulator: %w", err)
	}
	s.release = rel
	s.db.shape = rel.shapeRecord
	s.python = opts.Python
	if s.python == "" {
		var note string
		if s.python, note = PluginPython(rel); note != "" {
			s.logf("xapid: %s", note)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	loaded, err := s.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		s.seed(opts.Seed)
	}
	if err := s.writePluginHelpers(); err != nil {
		return nil, err
	}
	if err := s.bringUpPIFs(); err != nil {
		s.removePluginHelpers()
		return nil, err
	}
	s.startSaver()
	s.startTaskGC()
	return s, nil
}

// Close stops background work (task goroutines, guest boots, the saver),
// the HTTP server started by Listen, and saves the state file.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel() // wakes event.from waiters, stops boots and tasks
		s.urlMu.Lock()
		srvs := s.httpSrvs
		s.urlMu.Unlock()
		for _, srv := range srvs {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
		}
		s.wg.Wait()
		err = s.save()
		s.removePluginHelpers()
	})
	return err
}

// bringUpPIFs creates the bridges of the networks with attached PIFs
// (xenbr0) with the PIF's device (eth0) as a port, as xapi (through
// interface-reconfigure, later xcp-networkd) does when it starts: on a
// host the physical NIC is a port of its bridge.
func (s *Server) bringUpPIFs() error {
	s.hostMu.Lock()
	defer s.hostMu.Unlock()
	return s.bringUpPIFsLocked()
}

// bringUpPIFsLocked is bringUpPIFs for a caller that holds hostMu.
func (s *Server) bringUpPIFsLocked() error {
	s.db.mu.Lock()
	type pifPort struct{ bridge, device, netUUID, bridgeID string }
	var pifs []pifPort
	for _, p := range s.db.all("PIF") {
		if n, ok := s.db.objs[p.fields["network"].(string)]; ok && p.fields["currently_attached"] == true {
			pifs = append(pifs, pifPort{n.fields["bridge"].(string), p.fields["device"].(string), n.fields["uuid"].(string), bridgeID(n)})
		}
	}
	s.db.mu.Unlock()
	for _, p := range pifs {
		if err := s.makeBridge(s.ctx, p.bridge, p.netUUID, p.bridgeID); err != nil {
			return fmt.Errorf("xapi simulator: bringing up bridge %s: %w", p.bridge, err)
		}
		if pl, ok := s.host.(PortLister); ok {
			if ports, err := pl.BridgePorts(s.ctx, p.bridge); err == nil && slices.Contains(ports, p.device) {
				continue // already there (a toolstack restart)
			}
		}
		if err := s.host.AddPort(s.ctx, p.bridge, p.device, nil); err != nil {
			return fmt.Errorf("xapi simulator: adding %s to bridge %s: %w", p.device, p.bridge, err)
		}
	}
	return nil
}

// Release is the XenServer version the server poses as.
func (s *Server) Release() Release { return s.release }

// Python is the interpreter plugins naming python run under.
func (s *Server) Python() string { return s.python }

// HostRef is the ref of the simulated host record.
func (s *Server) HostRef() string { return s.hostR }

// go runs f in a goroutine that Close waits for.
func (s *Server) goBackground(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}
