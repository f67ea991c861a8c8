package sshd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// pidHolder is pid 1 of a host's PID namespace (runHolder): its commands
// join the namespace, see only the host's processes and cannot signal this
// machine's; killing it kills them all.
type pidHolder struct {
	cmd *exec.Cmd
	pid int    // its pid on this machine
	ns  string // /proc/<pid>/ns/pid
	// userns: the holder also made the host's user namespace (a server
	// that is not root, userns.go); commands enter both with nsenter.
	userns bool
	done   chan struct{}
	spawn  *spawner // nil: commands join the namespace themselves
}

// startPidHolder starts the host's PID namespace, in the host's cgroup.
// With userns (a server that is not root) it is made in a user namespace
// of the host's own, where uid and gid 0 are this user's (userns.go). It
// dies with this process (parent-death signal).
func startPidHolder(cfg Config, cg *hostCgroup, userns bool) (*pidHolder, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Args = []string{"xenlab-sim-init " + cfg.Name}
	cmd.Env = []string{nsHoldEnv + "=1", "XENLAB_SIM_ROOT=" + cfg.Root, "XENLAB_SIM_HOST=" + cfg.Name}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL, Setsid: true}
	if cg != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = cg.fd
	}
	if userns {
		inUserNS(cmd.SysProcAttr)
	}
	var err2 error
	// Its parent-death signal: with this process only (package lasting);
	// in the host's network namespace, if it has one.
	if err := cfg.NetNS.Lasting(func() { err2 = cmd.Start() }); err != nil {
		err2 = err
	}
	if err2 != nil {
		return nil, fmt.Errorf("PID namespace: %w", err2)
	}
	h := &pidHolder{cmd: cmd, pid: cmd.Process.Pid, ns: "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/pid",
		userns: userns, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(h.done) }()
	if userns {
		return h, nil // this process may not join it: nsenter does (userNSCommand)
	}
	if h.spawn, err = newSpawner(h.ns); err != nil {
		h.spawn = nil // commands take the slower way in
	}
	return h, nil
}

// stop kills the namespace's pid 1, and so every process in it.
func (h *pidHolder) stop() {
	if h.spawn != nil {
		h.spawn.stop()
	}
	_ = h.cmd.Process.Kill()
	<-h.done
}

// MachinePID maps a pid as the host's commands see it (in the host's PID
// namespace) to this machine's pid of the same process; without a PID
// namespace of its own the two are the same.
func (s *Server) MachinePID(pid int) (int, error) {
	if s.pidns == nil {
		return pid, nil
	}
	want, err := os.Readlink(s.pidns.ns)
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err != nil || ns != want {
			continue
		}
		if inner, ok := innermostPid(p); ok && inner == pid {
			return p, nil
		}
	}
	return 0, errors.New("no such process in the host")
}

// innermostPid reads the last NSpid of /proc/<pid>/status: the pid in the
// process's own PID namespace.
func innermostPid(pid int) (int, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			n, err := strconv.Atoi(f[len(f)-1])
			return n, err == nil
		}
	}
	return 0, false
}

// spawner starts SSH commands straight into the host's PID namespace: a
// goroutine locked to an OS thread that joined the namespace (setns applies
// to the children of the calling thread), so a command needs no first
// stage of its own (enterPidNS, which Server.Command still uses).
type spawner struct {
	reqs chan spawnReq
	quit chan struct{}
	once sync.Once
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner(ns string) (*spawner, error) {
	nr, ok := setnsSyscall[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	sp := &spawner{reqs: make(chan spawnReq), quit: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, which belongs to the host's
		// namespace now, ends with this goroutine.
		runtime.LockOSThread()
		fd, err := syscall.Open(ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == nil {
			if _, _, e := syscall.RawSyscall(nr, uintptr(fd), syscall.CLONE_NEWPID, 0); e != 0 {
				err = e
			}
			syscall.Close(fd)
		}
		if err == nil {
			err = joinHolderNet(ns)
		}
		ready <- err
		if err != nil {
			return
		}
		for {
			select {
			case r := <-sp.reqs:
				r.done <- r.cmd.Start()
			case <-sp.quit:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("join the host's PID namespace: %w", err)
	}
	return sp, nil
}

// start starts cmd in the host's PID namespace.
func (sp *spawner) start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	select {
	case sp.reqs <- spawnReq{cmd, done}:
		return <-done
	case <-sp.quit:
		return errors.New("the host is stopping")
	}
}

func (sp *spawner) stop() { sp.once.Do(func() { close(sp.quit) }) }

// joinHolderNet makes the calling thread join the network namespace of
// the holder whose PID namespace is pidns (/proc/<pid>/ns/pid): the host's
// own when it has one (Config.NetNS), else this machine's, which the
// thread is in already. Called before the thread joins a mount namespace,
// while /proc is this machine's.
func joinHolderNet(pidns string) error {
	netPath := strings.TrimSuffix(pidns, "/pid") + "/net"
	var want, have syscall.Stat_t
	if err := syscall.Stat(netPath, &want); err != nil {
		return fmt.Errorf("the host's network namespace: %w", err)
	}
	if err := syscall.Stat("/proc/thread-self/ns/net", &have); err == nil && have.Ino == want.Ino && have.Dev == want.Dev {
		return nil
	}
	fd, err := syscall.Open(netPath, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("the host's network namespace: %w", err)
	}
	defer syscall.Close(fd)
	if _, _, e := syscall.RawSyscall(setnsSyscall[runtime.GOARCH], uintptr(fd), syscall.CLONE_NEWNET, 0); e != 0 {
		return fmt.Errorf("join the host's network namespace: %w", e)
	}
	return nil
}
