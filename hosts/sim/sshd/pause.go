package sshd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// freezeTimeout bounds the wait for the kernel to freeze or thaw a host.
const freezeTimeout = 5 * time.Second

// Pause stops the host as a suspended VM stops: it no longer accepts
// connections, and every process of the host (its cgroup) is frozen where
// it is, its state kept, until Resume. Connections already open stay open
// (a suspended VM's peers wait); what they start runs once resumed. It
// needs the host's cgroup (root): without it Pause fails and changes
// nothing.
func (s *Server) Pause() error {
	if s.cgroup == nil {
		return errors.New("sshd: no cgroup to freeze the host's processes in (not root?)")
	}
	s.mu.Lock()
	if s.closed || s.paused {
		s.mu.Unlock()
		return fmt.Errorf("sshd %s: closed or already paused", s.cfg.Name)
	}
	s.paused = true
	ln := s.ln
	s.mu.Unlock()
	if err := s.cgroup.freeze(true); err != nil {
		s.mu.Lock()
		s.paused = false
		s.mu.Unlock()
		return err
	}
	return ln.Close() // the accept loop ends
}

// Resume undoes Pause: the host listens on the same address again and its
// processes go on.
func (s *Server) Resume(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.paused {
		return fmt.Errorf("sshd %s: closed or not paused", s.cfg.Name)
	}
	ln, err := s.cfg.NetNS.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("sshd %s: listen again: %w", s.cfg.Name, err)
	}
	if err := s.cgroup.freeze(false); err != nil {
		ln.Close()
		return err
	}
	s.ln, s.paused = ln, false
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return nil
}

// freeze freezes or thaws every process of the cgroup and waits (bounded)
// until the kernel says it is done.
func (cg *hostCgroup) freeze(on bool) error {
	v, want := "0", "frozen 0"
	if on {
		v, want = "1", "frozen 1"
	}
	if err := os.WriteFile(filepath.Join(cg.dir, "cgroup.freeze"), []byte(v), 0); err != nil {
		return fmt.Errorf("sshd: cgroup.freeze: %w", err)
	}
	deadline := time.Now().Add(freezeTimeout)
	for {
		ev, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.events"))
		if err == nil && strings.Contains(string(ev), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd: the host's processes not %s after %v", strings.TrimPrefix(want, "frozen "), freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}
