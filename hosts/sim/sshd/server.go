package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Bounds on what a client or a command can hold up.
const (
	handshakeTimeout = 30 * time.Second
	closeTimeout     = 10 * time.Second
)

// Server is one simulated host's running SSH server.
type Server struct {
	cfg       Config
	ssh       *ssh.ServerConfig
	hostKey   ssh.Signer
	root      *os.Root
	isolation Isolation
	cgroup    *hostCgroup  // nil: commands' leftovers found by their environment only
	pidns     *pidHolder   // nil: commands share this machine's PID namespace
	ln        net.Listener // guarded by mu after Start (Pause, Resume)
	addr      string       // where it listens, the same after a Resume

	ctx    context.Context // cancelled by Close: kills every command
	cancel context.CancelFunc

	direct sync.Map // *exec.Cmd of Command -> directStart, until Start

	handshakes atomic.Int64
	wg         sync.WaitGroup // accept loop and every connection

	mu     sync.Mutex
	paused bool            // Pause: not listening, its processes frozen
	bound  map[string]bool // machineDirs bound into the lasting root since Start
	conns  map[net.Conn]struct{}
	closed bool
}

// Start prepares the host's directory (root, skeleton, homes), loads or
// creates the host key, and starts listening on cfg.Addr. It returns once
// the server accepts connections; ctx only bounds the start itself. Close
// stops the server.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.HostPaths == nil {
		cfg.HostPaths = DefaultHostPaths
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sshd %s: %w", cfg.Name, err)
	}
	iso, err := chooseIsolation(cfg.Isolation)
	if err != nil {
		return nil, fmt.Errorf("sshd %s: %w", cfg.Name, err)
	}
	signer, err := loadOrCreateHostKey(cfg.HostKeyFile)
	if err != nil {
		return nil, fmt.Errorf("sshd %s: %w", cfg.Name, err)
	}
	root, err := prepareRoot(cfg)
	if err != nil {
		return nil, fmt.Errorf("sshd %s: %w", cfg.Name, err)
	}
	if iso == IsolationMountNS {
		if err := prepareOwnRoot(cfg.Root); err != nil {
			root.Close()
			return nil, fmt.Errorf("sshd %s: %w", cfg.Name, err)
		}
	}
	ln, err := cfg.NetNS.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("sshd %s: listen: %w", cfg.Name, err)
	}
	s := &Server{
		cfg:       cfg,
		hostKey:   signer,
		root:      root,
		isolation: iso,
		ln:        ln,
		addr:      ln.Addr().String(),
		conns:     map[net.Conn]struct{}{},
	}
	if s.cgroup, err = openHostCgroup(cfg.Root); err != nil {
		if iso == IsolationMountNS && os.Geteuid() != 0 {
			s.logf("no cgroup for the host's commands (%v): the host's PID namespace alone ends what they leave running", err)
		} else {
			s.logf("no cgroup for the host's commands (%v): a daemon that clears its environment outlives the host", err)
		}
		s.cgroup = nil
	}
	if iso == IsolationMountNS {
		userns := os.Geteuid() != 0
		var lastingRoot *nsInit
		if !userns {
			plan := s.rootPlan(User{Home: "/"}, []string{"sh"})
			lastingRoot = &plan
		}
		if s.pidns, err = startPidHolder(cfg, s.cgroup, userns, lastingRoot); err != nil && userns {
			ln.Close()
			root.Close()
			return nil, fmt.Errorf("sshd %s: the host's user namespace: %w", cfg.Name, err)
		} else if err != nil {
			s.logf("no PID namespace for the host's commands (%v): they see and may signal this machine's processes", err)
			s.pidns = nil
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ssh = &ssh.ServerConfig{
		PasswordCallback:  s.passwordCallback,
		PublicKeyCallback: s.publicKeyCallback,
		MaxAuthTries:      6,
		ServerVersion:     "SSH-2.0-xenlab-sim",
	}
	s.ssh.AddHostKey(signer)
	s.logf("listening on %s (isolation %s, root %s)", ln.Addr(), iso, cfg.Root)
	if iso == IsolationPaths && cfg.Isolation != IsolationPaths {
		s.logf("commands see this machine's absolute paths: no mount namespace (%v)", probeMountNS())
	}
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return s, nil
}

// Addr is the address the server listens on, host:port.
func (s *Server) Addr() string { return s.addr }

// HostKey is the server's public host key, for known_hosts.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// Handshakes counts the connections that completed the SSH handshake and
// authentication since Start.
func (s *Server) Handshakes() int64 { return s.handshakes.Load() }

// Isolation is how this server's commands see the host: IsolationMountNS
// or IsolationPaths.
func (s *Server) Isolation() Isolation { return s.isolation }

// Root is the host's directory on this machine.
func (s *Server) Root() string { return s.cfg.Root }

// Close stops the listener, closes every connection, kills every running
// command and every process a command left running (found by the
// XENLAB_SIM_ROOT and XENLAB_SIM_HOST variables in its environment). It waits at most about ten seconds for the connections'
// goroutines to end and reports if they did not.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	paused, ln := s.paused, s.ln
	s.mu.Unlock()

	if paused { // what is killed below is thawed first
		_ = s.cgroup.freeze(false)
	}
	s.cancel()
	err := ln.Close()
	if paused {
		err = nil // closed by Pause
	}
	for _, c := range conns {
		c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		err = errors.Join(err, fmt.Errorf("sshd %s: connections still open %v after Close", s.cfg.Name, closeTimeout))
	}
	if s.pidns != nil {
		s.pidns.stop()
	}
	if s.cgroup != nil {
		if n := s.cgroup.close(); n > 0 {
			s.logf("killed the %d processes left in the host's cgroup", n)
		}
	}
	if n := s.killLeftovers(); n > 0 {
		s.logf("killed %d processes commands left running", n)
	}
	s.direct.Clear()
	s.root.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf("sshd %s: "+format, append([]any{s.cfg.Name}, args...)...)
	}
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.logf("accept: %v", err)
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) serveConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.ssh)
	if err != nil {
		s.logf("%s: handshake: %v", c.RemoteAddr(), err)
		return
	}
	c.SetDeadline(time.Time{})
	s.handshakes.Add(1)
	user := sconn.Permissions.Extensions[extUser]
	s.logf("%s: %s logged in (%s, %s)", c.RemoteAddr(), user,
		sconn.Permissions.Extensions[extMethod], sconn.ClientVersion())
	defer s.logf("%s: %s disconnected", c.RemoteAddr(), user)

	// Global requests (keepalive@openssh.com, tcpip-forward) are refused;
	// a refusal is a valid keepalive answer.
	go ssh.DiscardRequests(reqs)

	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			s.logf("%s: accept channel: %v", c.RemoteAddr(), err)
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			newSession(s, user, ch).serve(creqs)
		}()
	}
	// chans is closed: the connection is gone. Closing it closes every
	// channel, whose sessions then kill their commands.
	sconn.Close()
	sessions.Wait()
}
