package sshd

import (
	"net"
	"os/exec"
	"testing"
	"time"
)

// What a command leaves running after it exits (an agent started with
// nohup, a daemon in its own session) outlives the session, as on a real
// host, and is killed by Close.
func TestLeftoversLiveUntilClose(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.rootClient(t)
	bgIn, bg := h.scratchFile(t, "bg")
	daemonIn, daemon := h.scratchFile(t, "daemon")
	out, err := mustSession(t, c).CombinedOutput(
		"nohup sleep 600 >/dev/null 2>&1 & echo $! > " + shq(bgIn) + "\n" +
			"setsid sh -c 'echo $$ > " + daemonIn + "; exec env -i sleep 600' >/dev/null 2>&1 </dev/null &\n" +
			"echo started")
	if err != nil || string(out) != "started\n" {
		t.Fatalf("%q %v", out, err)
	}
	bgPid, daemonPid := h.machinePid(t, waitPid(t, bg)), h.machinePid(t, waitPid(t, daemon))
	for _, pid := range []int{bgPid, daemonPid} {
		if processGone(pid) {
			t.Fatalf("process %d died with the session", pid)
		}
	}
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, bgPid)
	waitGone(t, daemonPid)
}

// Close returns although a client does not read a flood of output, a
// command ignores polite signals, and a TCP client never starts its
// handshake.
func TestCloseIsBounded(t *testing.T) {
	h := startHost(t, "", nil)
	idle, err := net.Dial("tcp", h.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	c := h.rootClient(t)
	s := mustSession(t, c)
	if _, err := s.StdoutPipe(); err != nil { // never read
		t.Fatal(err)
	}
	pidIn, pidFile := h.scratchFile(t, "pid")
	if err := s.Start("trap '' TERM INT HUP; echo $$ > " + shq(pidIn) + "; yes"); err != nil {
		t.Fatal(err)
	}
	pid := h.machinePid(t, waitPid(t, pidFile))
	done := make(chan error, 1)
	go func() { done <- h.srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(2 * closeTimeout):
		t.Fatal("Close did not return")
	}
	waitGone(t, pid)
	// The idle connection was closed by the server.
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.Read(make([]byte, 256)); err == nil {
		// The server may have sent its version line before closing.
		if _, err := idle.Read(make([]byte, 256)); err == nil {
			t.Error("idle connection still open after Close")
		}
	}
}

// Close kills only what carries this host's exact marks: a process of a
// host whose root or name merely starts with this one's survives.
func TestCloseSparesOtherHosts(t *testing.T) {
	h := startHost(t, "", nil)
	var others []*exec.Cmd
	for _, env := range [][]string{
		{"XENLAB_SIM_ROOT=" + h.cfg.Root + "2", "XENLAB_SIM_HOST=" + h.cfg.Name},
		{"XENLAB_SIM_ROOT=" + h.cfg.Root, "XENLAB_SIM_HOST=" + h.cfg.Name + "2"},
		{"XENLAB_SIM_ROOT=" + h.cfg.Root},
	} {
		cmd := exec.Command("sleep", "600")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		others = append(others, cmd)
	}
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range others {
		if processGone(cmd.Process.Pid) {
			t.Errorf("Close killed a process of another host (env %q)", cmd.Env)
		}
	}
}
