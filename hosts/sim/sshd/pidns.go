package sshd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
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
	// rooted: the holder built the host's lasting root (nsRootEnv) in
	// mount and UTS namespaces of its own, which spawn has joined too.
	rooted bool
}

// startPidHolder starts the host's PID namespace, in the host's cgroup.
// With userns (a server that is not root) it is made in a user namespace
// of the host's own, where uid and gid 0 are this user's (userns.go). It
// dies with this process (parent-death signal).
//
// With root (a server that is root), the holder also builds the host's
// root once, in mount and UTS namespaces of its own, and SSH commands
// start straight into it (spawner); when that fails they build their own
// as before.
func startPidHolder(cfg Config, cg *hostCgroup, userns bool, root *nsInit) (*pidHolder, error) {
	if root != nil && !userns {
		h, err := startRootedHolder(cfg, cg, *root)
		if err == nil {
			return h, nil
		}
		if cfg.Logf != nil {
			cfg.Logf("sshd %s: no lasting root for the host's commands (%v): each builds its own", cfg.Name, err)
		}
	}
	return startPlainHolder(cfg, cg, userns)
}

// startRootedHolder starts the holder in new PID, mount and UTS namespaces
// where it builds root (buildHostRoot), and a spawner that joins all three.
func startRootedHolder(cfg Config, cg *hostCgroup, root nsInit) (*pidHolder, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Args = []string{"xenlab-sim-init " + cfg.Name}
	cmd.Env = []string{nsHoldEnv + "=1", nsRootEnv + "=" + string(data), "XENLAB_SIM_ROOT=" + cfg.Root, "XENLAB_SIM_HOST=" + cfg.Name}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Pdeathsig: syscall.SIGKILL, Setsid: true}
	if cg != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = cg.fd
	}
	var err2 error
	if err := cfg.NetNS.Lasting(func() { err2 = cmd.Start() }); err != nil {
		err2 = err
	}
	w.Close()
	if err2 != nil {
		return nil, fmt.Errorf("PID namespace: %w", err2)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	h := &pidHolder{cmd: cmd, pid: cmd.Process.Pid, ns: "/proc/" + pid + "/ns/pid", done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(h.done) }()
	// The holder answers once (a line) or exits; a bounded wait.
	_ = r.SetReadDeadline(time.Now().Add(readyTimeout))
	line, _ := bufio.NewReader(r).ReadString('\n')
	if line != "ok\n" {
		h.stop()
		if line == "" {
			line = "no answer"
		}
		return nil, fmt.Errorf("the host's root: %s", strings.TrimSpace(line))
	}
	if h.spawn, err = newSpawner(h.ns, "/proc/"+pid+"/ns/mnt", "/proc/"+pid+"/ns/uts"); err != nil {
		h.stop()
		return nil, err
	}
	h.rooted = true
	return h, nil
}

// readyTimeout bounds the holder's set-up of the host's root.
const readyTimeout = 30 * time.Second

func startPlainHolder(cfg Config, cg *hostCgroup, userns bool) (*pidHolder, error) {
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
	if h.spawn, err = newSpawner(h.ns, "", ""); err != nil {
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
	do   func() error // when cmd is nil: run on the spawner's thread
	done chan error
}

// newSpawner starts the thread that starts commands in the PID namespace
// ns. With mnt and uts (the holder's lasting root), the thread also joins
// those namespaces (after taking a file system context of its own, which
// joining a mount namespace needs) and drops droppedCaps from its bounding
// set, so what it starts runs in the host's root with no set-up of its own.
func newSpawner(ns, mnt, uts string) (*spawner, error) {
	nr, ok := setnsSyscall[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	sp := &spawner{reqs: make(chan spawnReq), quit: make(chan struct{})}
	ready := make(chan error, 1)
	goOnOwnThread(func() {
		// Never unlocked: the thread, which belongs to the host's
		// namespace now, ends with this goroutine.
		// Every file opened first: once in the host's mount namespace,
		// /proc is the host's.
		var fds []int
		defer func() {
			for _, fd := range fds {
				syscall.Close(fd)
			}
		}()
		paths := []string{ns}
		if mnt != "" {
			paths = append(paths, mnt, uts)
		}
		var err error
		for _, p := range paths {
			fd, e := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if e != nil {
				err = e
				break
			}
			fds = append(fds, fd)
		}
		join := func(fd int, kind uintptr) error {
			if _, _, e := syscall.RawSyscall(nr, uintptr(fd), kind, 0); e != 0 {
				return e
			}
			return nil
		}
		if err == nil {
			err = join(fds[0], syscall.CLONE_NEWPID)
		}
		if err == nil { // while /proc is still this machine's
			err = joinHolderNet(ns)
		}
		if err == nil && mnt != "" {
			err = syscall.Unshare(syscall.CLONE_FS)
			if err == nil {
				err = join(fds[1], syscall.CLONE_NEWNS)
			}
			if err == nil {
				err = join(fds[2], syscall.CLONE_NEWUTS)
			}
			if err == nil {
				err = dropCaps()
			}
			if err == nil {
				err = syscall.Chdir("/")
			}
		}
		ready <- err
		if err != nil {
			return
		}
		for {
			select {
			case r := <-sp.reqs:
				if r.cmd != nil {
					r.done <- r.cmd.Start()
				} else {
					r.done <- r.do()
				}
			case <-sp.quit:
				return
			}
		}
	})
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("join the host's PID namespace: %w", err)
	}
	return sp, nil
}

// start starts cmd in the host's PID namespace.
func (sp *spawner) start(cmd *exec.Cmd) error {
	return sp.send(spawnReq{cmd: cmd})
}

func (sp *spawner) send(r spawnReq) error {
	done := make(chan error, 1)
	r.done = done
	select {
	case sp.reqs <- r:
		return <-done
	case <-sp.quit:
		return errors.New("the host is stopping")
	}
}

func (sp *spawner) stop() { sp.once.Do(func() { close(sp.quit) }) }

// System calls of the mount API (Linux 5.2) that package syscall does not
// name; their numbers are the same on every architecture but alpha.
const (
	sysOpenTree        = 428
	sysMoveMount       = 429
	openTreeClone      = 1
	moveMountEmptyPath = 0x4
	atFDCWD            = -100
)

// bind binds this machine's directory dir at the same path into the
// lasting root (a machineDir of Command): a copy of its mount made here
// (open_tree) and moved into the host's mount namespace from the
// spawner's thread (move_mount), which still holds the capability to.
func (sp *spawner) bind(dir string) error {
	p, err := syscall.BytePtrFromString(dir)
	if err != nil {
		return err
	}
	fdcwd := atFDCWD
	fd, _, e := syscall.Syscall(sysOpenTree, uintptr(fdcwd), uintptr(unsafe.Pointer(p)), openTreeClone|syscall.O_CLOEXEC)
	if e != 0 {
		return fmt.Errorf("open_tree %s: %w", dir, e)
	}
	defer syscall.Close(int(fd))
	return sp.send(spawnReq{do: func() error {
		if err := mountPoint(dir, false); err != nil {
			return fmt.Errorf("mount point %s: %w", dir, err)
		}
		empty, _ := syscall.BytePtrFromString("")
		if _, _, e := syscall.Syscall6(sysMoveMount, fd, uintptr(unsafe.Pointer(empty)), uintptr(fdcwd), uintptr(unsafe.Pointer(p)), moveMountEmptyPath, 0); e != 0 {
			return fmt.Errorf("move_mount %s: %w", dir, e)
		}
		return nil
	}})
}

// goOnOwnThread runs f in a new goroutine locked to a thread that is not
// the process's main one, and never unlocked: f may change what belongs to
// its thread (namespaces, the bounding set), and the main thread's is what
// /proc/self shows for the whole process (mountinfo, say), and a locked
// main thread is never given back when its goroutine ends.
func goOnOwnThread(f func()) {
	go func() {
		runtime.LockOSThread()
		if syscall.Gettid() != syscall.Getpid() {
			f()
			return
		}
		// The main thread: while this goroutine holds it, a new one runs
		// on another thread.
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			f()
		}()
		<-started
		runtime.UnlockOSThread()
	}()
}

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
