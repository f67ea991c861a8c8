package sshd

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCommandKilledWhenClientDisconnects(t *testing.T) {
	for _, iso := range isolations(t) {
		t.Run(string(iso), func(t *testing.T) {
			h := startHost(t, iso, nil)
			c := h.rootClient(t)
			pidIn, pidFile := h.scratchFile(t, "pid")
			s := mustSession(t, c)
			// The background sleep proves the whole group dies, not just sh.
			if err := s.Start("sleep 600 & echo $! > " + shq(pidIn) + "; wait"); err != nil {
				t.Fatal(err)
			}
			pid := h.machinePid(t, waitPid(t, pidFile))
			c.Close()
			waitGone(t, pid)
		})
	}
}

func TestCommandKilledOnClose(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)
	pidIn, pidFile := h.scratchFile(t, "pid")
	s := mustSession(t, c)
	if err := s.Start("sleep 600 & echo $! > " + shq(pidIn) + "; wait"); err != nil {
		t.Fatal(err)
	}
	pid := h.machinePid(t, waitPid(t, pidFile))
	if err := h.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitGone(t, pid)
	if err := s.Wait(); err == nil {
		t.Error("session ended cleanly although the server closed under it")
	}
	if _, err := h.goClient(t, "root", ssh.PublicKeys(h.key.signer)); err == nil {
		t.Error("connected after Close")
	}
}

func TestSignalForwarded(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)

	// A trapped signal: the shell's own exit code comes back.
	s := mustSession(t, c)
	pidIn, pidFile := h.scratchFile(t, "pid1")
	if err := s.Start("trap 'exit 7' TERM; sleep 600 & echo $! > " + shq(pidIn) + "; wait"); err != nil {
		t.Fatal(err)
	}
	waitPid(t, pidFile)
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var ee *ssh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 7 {
		t.Fatalf("trapped TERM: %v, want exit status 7", err)
	}

	// An untrapped one: exit-signal, as OpenSSH reports it.
	s = mustSession(t, c)
	pidIn, pidFile = h.scratchFile(t, "pid2")
	if err := s.Start("echo $$ > " + shq(pidIn) + "; exec sleep 600"); err != nil {
		t.Fatal(err)
	}
	waitPid(t, pidFile)
	if err := s.Signal(ssh.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); !errors.As(err, &ee) || ee.Signal() != "INT" {
		t.Fatalf("untrapped INT: %v, want exit signal INT", err)
	}
}

func TestShellWithoutPtyReadsStdin(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)
	s := mustSession(t, c)
	// No pty: the request is refused and the client carries on.
	if err := s.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err == nil {
		t.Error("pty-req accepted")
	}
	var out bytes.Buffer
	s.Stdout = &out
	s.Stdin = strings.NewReader("echo from-shell\nexit 4\n")
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	var ee *ssh.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.ExitStatus() != 4 {
		t.Fatalf("shell: %v, want exit 4", err)
	}
	if out.String() != "from-shell\n" {
		t.Errorf("shell output %q", out.String())
	}
}

func TestEnvAllowlist(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)
	s := mustSession(t, c)
	if err := s.Setenv("LC_ALL", "C"); err != nil {
		t.Errorf("LC_ALL refused: %v", err)
	}
	if err := s.Setenv("LD_PRELOAD", "/evil.so"); err == nil {
		t.Error("LD_PRELOAD accepted")
	}
	out, err := s.Output(`echo "$LC_ALL|$LD_PRELOAD"`)
	if err != nil || string(out) != "C|\n" {
		t.Fatalf("env: %q %v", out, err)
	}
}

func TestOneConnectionManySessions(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)
	for i := range 5 {
		out, err := mustSession(t, c).CombinedOutput("echo run")
		if err != nil || string(out) != "run\n" {
			t.Fatalf("session %d: %q %v", i, out, err)
		}
	}
	if h.srv.Handshakes() != 1 {
		t.Errorf("handshakes %d, want 1 for one connection", h.srv.Handshakes())
	}
	// A second exec on a used session is refused.
	s := mustSession(t, c)
	if err := s.Start("sleep 1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{"true"})); ok {
		t.Error("second exec on one channel accepted")
	}
	s.Close()
}
