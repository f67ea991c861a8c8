package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"xenlab/internal/race"
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

	if !shell {
		if argv, ok := simpleCommand(command); ok {
			u := ss.srv.cfg.Users[ss.user]
			if b, ok := ss.srv.builtin(ss.srv.commandEnv(ss.user, u.Home, clientEnv), argv[0]); ok {
				st = ss.runBuiltin(b, argv)
				ss.srv.logf("%s: command ended: %s (carried out by the simulator)", ss.user, st)
				return
			}
		}
	}
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
	if err := ss.srv.startCommand(cmd); err != nil {
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
	if s.isolation == IsolationMountNS && s.pidns != nil && s.pidns.rooted {
		// The host's lasting root: startCommand starts the shell in it.
		cmd = exec.CommandContext(ctx, "/bin/sh", shArgs...)
		cmd.Args[0] = "sh"
		cmd.Dir = u.Home
		cmd.Env = s.commandEnv(user, u.Home, clientEnv)
		s.groupCommand(cmd)
		return cmd, nil
	}
	if s.isolation == IsolationMountNS {
		var err error
		plan := s.rootPlan(u, append([]string{"sh"}, shArgs...))
		if s.pidns != nil && s.pidns.spawn != nil {
			plan.PidNS = "" // startCommand starts it in the namespace
		}
		if cmd, err = s.nsCommand(ctx, plan); err != nil {
			return nil, err
		}
		home = u.Home
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", shArgs...)
	}
	cmd.Dir = realHome
	nsEnv := cmd.Env // the root's plan, under IsolationMountNS
	cmd.Env = append(s.commandEnv(user, home, clientEnv), nsEnv...)
	s.groupCommand(cmd)
	return cmd, nil
}

// groupCommand starts cmd in a process group of its own, in the host's
// cgroup when it has one, and makes its cancellation kill the whole group.
func (s *Server) groupCommand(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if s.cgroup != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = s.cgroup.fd
	}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
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
	// In a root of its own (home inside the host) the host's bin
	// directories are the system's paths; otherwise their copies here.
	if s.isolation != IsolationMountNS || strings.HasPrefix(home, s.cfg.Root+"/") || home == s.cfg.Root {
		for _, d := range []string{"usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"} {
			full := filepath.Join(s.cfg.Root, d)
			if fi, err := os.Stat(full); err == nil && fi.IsDir() {
				dirs = append(dirs, full)
			}
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
	env = append(env, race.ChildEnv()...) // the host's xe and namespace stages are this program
	return append(env, clientEnv...)
}

// Command is a program the host runs itself, not through SSH (xapi's
// plugins in dom0), the way the host's commands run: as user, in the
// host's own root under IsolationMountNS, in the host's cgroup and its own
// process group, with the user's environment plus env. argv[0] and any
// argument that is an absolute path of a file the host has are paths
// inside the host. machineDirs are directories of this machine the
// program needs at their own paths (bound into the root).
//
// Started with Start rather than its own Start or Run, it runs without
// building a root of its own when the host has a lasting one.
func (s *Server) Command(ctx context.Context, user string, argv, env, machineDirs []string) (*exec.Cmd, error) {
	cmd, err := s.ownRootCommand(ctx, user, argv, env, machineDirs)
	if err == nil && s.isolation == IsolationMountNS && s.pidns != nil && s.pidns.rooted && s.inLastingRoot(machineDirs) {
		home := s.cfg.Users[user].Home
		s.direct.Store(cmd, directStart{argv: slices.Clone(argv), env: append(s.commandEnv(user, home, nil), env...)})
	}
	return cmd, err
}

// ownRootCommand is Command's process that builds its own root.
func (s *Server) ownRootCommand(ctx context.Context, user string, argv, env, machineDirs []string) (*exec.Cmd, error) {
	u, ok := s.cfg.Users[user]
	if !ok {
		return nil, fmt.Errorf("unknown user %q", user)
	}
	if len(argv) == 0 {
		return nil, errors.New("no program")
	}
	var cmd *exec.Cmd
	home := s.HostPath(u.Home)
	if s.isolation == IsolationMountNS {
		plan := s.rootPlan(u, argv, machineDirs...)
		plan.Path, plan.Dir = argv[0], "/"
		var err error
		if cmd, err = s.nsCommand(ctx, plan); err != nil {
			return nil, err
		}
		home = u.Home
	} else {
		args := slices.Clone(argv)
		for i, a := range args {
			if strings.HasPrefix(a, "/") && !strings.ContainsAny(a, "\n<") {
				if _, err := os.Stat(s.HostPath(a)); err == nil {
					args[i] = s.HostPath(a)
				}
			}
		}
		cmd = exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = s.cfg.Root
	}
	nsEnv := cmd.Env
	cmd.Env = append(append(s.commandEnv(user, home, nil), env...), nsEnv...)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if s.cgroup != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = s.cgroup.fd
	}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd, nil
}

// Start starts a command Command made: straight into the host's lasting
// root (pidns.go) when it has one, so that no copy of the simulator runs
// to build the command's root; otherwise as cmd.Start does. Set the
// command's standard streams before Start; Wait for it as usual.
func (s *Server) Start(cmd *exec.Cmd) error {
	v, ok := s.direct.LoadAndDelete(cmd)
	if !ok {
		return cmd.Start()
	}
	d := v.(directStart)
	// The same Cmd, made to run argv itself in the host's root (the
	// namespaces and bounding set the spawner's thread passes on).
	cmd.Path, cmd.Args, cmd.Env, cmd.Dir = d.argv[0], d.argv, d.env, "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.cgroup != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = s.cgroup.fd
	}
	return s.pidns.spawn.start(cmd)
}

// directStart is how Start runs a command of Command in the host's
// lasting root.
type directStart struct {
	argv, env []string
}

// inLastingRoot says whether every one of dirs is bound into the host's
// lasting root (Config.KeepPaths), binding those that are not yet.
func (s *Server) inLastingRoot(dirs []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range dirs {
		if slices.Contains(s.cfg.KeepPaths, d) || s.bound[d] {
			continue
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return false
		}
		if err := s.pidns.spawn.bind(d); err != nil {
			s.logf("cannot bind %s into the host's root (%v): its commands build their own", d, err)
			return false
		}
		if s.bound == nil {
			s.bound = map[string]bool{}
		}
		s.bound[d] = true
	}
	return true
}

// startCommand starts an SSH command: in the host's PID namespace when
// there is one to start it in.
func (s *Server) startCommand(cmd *exec.Cmd) error {
	if s.isolation == IsolationMountNS && s.pidns != nil && s.pidns.spawn != nil {
		return s.pidns.spawn.start(cmd)
	}
	return cmd.Start()
}
