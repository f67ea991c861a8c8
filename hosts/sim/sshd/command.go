package sshd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// drainTimeout bounds how long output is still forwarded after a command
// exited while something it started keeps its stdout or stderr open.
const drainTimeout = 2 * time.Second

// systemPath is the tail of every command's PATH.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// exitStatus is how a command ended, as SSH reports it.
type exitStatus struct {
	code   int
	signal string // SSH signal name without "SIG", when killed by a signal
	core   bool
}

// process is a running command: /bin/sh (possibly in a mount namespace of
// its own) in its own process group.
type process struct {
	cmd *exec.Cmd
}

// signal delivers an SSH-named signal ("TERM", "INT", ...) to the
// command's process group.
func (p *process) signal(name string) error {
	sig, ok := signalsByName[name]
	if !ok {
		return fmt.Errorf("unknown signal %q", name)
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// start runs command (or a shell reading stdin when shell is set) for the
// session's user; it is called after the request was acknowledged, so the
// reply always precedes output and the exit status.
func (ss *session) start(command string, shell bool, clientEnv []string) {
	st := exitStatus{code: 127}
	defer func() { ss.finish(st) }()

	cmd, err := ss.srv.command(ss.ctx, ss.user, command, shell, clientEnv)
	if err != nil {
		ss.srv.logf("%s: cannot run command: %v", ss.user, err)
		fmt.Fprintf(ss.ch.Stderr(), "xenlab-sim %s: %v\n", ss.srv.cfg.Name, err)
		return
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		ss.srv.logf("%s: stdin pipe: %v", ss.user, err)
		return
	}
	cmd.Stdin = stdinR
	cmd.Stdout = ss.ch
	cmd.Stderr = ss.ch.Stderr()
	cmd.WaitDelay = drainTimeout
	if err := cmd.Start(); err != nil {
		stdinR.Close()
		stdinW.Close()
		ss.srv.logf("%s: start: %v", ss.user, err)
		fmt.Fprintf(ss.ch.Stderr(), "xenlab-sim %s: %v\n", ss.srv.cfg.Name, err)
		return
	}
	stdinR.Close()
	p := &process{cmd: cmd}
	ss.mu.Lock()
	ss.proc = p
	ss.mu.Unlock()
	go func() {
		// Ends on the client's EOF, on the channel's close, or when the
		// command no longer reads (EPIPE).
		io.Copy(stdinW, ss.ch)
		stdinW.Close()
	}()

	// Its error is in ProcessState, or is exec.ErrWaitDelay. If the
	// channel closed or the server stopped first, cmd.Cancel has killed the
	// whole group; after a normal exit, what the command left running
	// (nohup agent &) lives on, as on a real host, until Close.
	cmd.Wait()
	st = statusOf(cmd.ProcessState)
	ss.srv.logf("%s: command ended: %s", ss.user, st)
}

func statusOf(ps *os.ProcessState) exitStatus {
	if ps == nil {
		return exitStatus{code: 255}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return exitStatus{code: ps.ExitCode()}
	}
	if ws.Signaled() {
		return exitStatus{signal: signalName(ws.Signal()), core: ws.CoreDump(), code: 255}
	}
	return exitStatus{code: ws.ExitStatus()}
}

func (st exitStatus) String() string {
	if st.signal != "" {
		return "signal " + st.signal
	}
	return fmt.Sprintf("exit %d", st.code)
}

// command builds the process for a user's command line in this host's
// environment.
func (s *Server) command(ctx context.Context, user, command string, shell bool, clientEnv []string) (*exec.Cmd, error) {
	u, ok := s.cfg.Users[user]
	if !ok {
		return nil, fmt.Errorf("unknown user %q", user)
	}
	realHome := s.HostPath(u.Home)
	shArgs := []string{"-c", command}
	if shell {
		shArgs = nil
	}
	var cmd *exec.Cmd
	home := realHome
	if s.isolation == IsolationMountNS {
		script, err := s.nsScript(u)
		if err != nil {
			return nil, err
		}
		args := []string{"-c", script, "xenlab-ns"}
		if !shell {
			args = append(args, command)
		}
		cmd = exec.CommandContext(ctx, "/bin/sh", args...)
		inMountNS(cmd)
		if s.cfg.Hostname != "" {
			cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWUTS
		}
		home = u.Home
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", shArgs...)
	}
	cmd.Dir = realHome
	cmd.Env = s.commandEnv(user, home, clientEnv)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd, nil
}

// commandEnv is a command's environment: a clean login environment for
// the host, Config.Env, then the client's allowed variables.
func (s *Server) commandEnv(user, home string, clientEnv []string) []string {
	var prefix string
	var extra []string
	for _, kv := range s.cfg.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			prefix = v
			continue
		}
		extra = append(extra, kv)
	}
	var dirs []string
	if prefix != "" {
		dirs = append(dirs, prefix)
	}
	for _, d := range []string{"usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"} {
		full := filepath.Join(s.cfg.Root, d)
		if fi, err := os.Stat(full); err == nil && fi.IsDir() {
			dirs = append(dirs, full)
		}
	}
	dirs = append(dirs, systemPath)
	env := []string{
		"HOME=" + home,
		"USER=" + user,
		"LOGNAME=" + user,
		"SHELL=/bin/sh",
		"PATH=" + strings.Join(dirs, ":"),
		"XENLAB_SIM_ROOT=" + s.cfg.Root,
		"XENLAB_SIM_HOST=" + s.cfg.Name,
	}
	env = append(env, extra...)
	return append(env, clientEnv...)
}
