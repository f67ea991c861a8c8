package sshd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A command under IsolationMountNS runs in a root of its host's own: this
// program is executed again (os.Executable) in a fresh mount and UTS
// namespace with nsInitEnv holding a plan; init below sees it before main,
// makes the host's directory the root of the namespace with the machine's
// programs bound read-only into it, sets the host name, drops the
// capabilities that could undo or get around this (CAP_SYS_ADMIN first),
// and executes /bin/sh. All in one process, with system calls rather than
// one mount(8) process per mount.
const nsInitEnv = "XENLAB_SIM_NSINIT"

// nsHoldEnv makes this program the first process (pid 1) of a host's PID
// namespace (runHolder); nsStageEnv marks the second stage of a command
// that entered that namespace (enterPidNS).
const (
	nsHoldEnv  = "XENLAB_SIM_NSHOLD"
	nsStageEnv = "XENLAB_SIM_NSSTAGE"
)

// nsRootEnv holds the plan of a host's lasting root: the holder (pid 1 of
// the host's PID namespace, started in fresh mount and UTS namespaces too)
// builds it once, as runNSInit builds a command's, and says so on its fd 3;
// SSH commands then start straight into it (spawner), with no copy of this
// program and no mounts of their own.
const nsRootEnv = "XENLAB_SIM_NSROOT"

// buildHostRoot is the holder's set-up of the host's lasting root. It
// reports "ok" or the error on fd 3 and, on error, exits.
func buildHostRoot(planJSON string) {
	ready := os.NewFile(3, "ready")
	var p nsInit
	err := json.Unmarshal([]byte(planJSON), &p)
	if err == nil {
		err = buildRoot(p)
	}
	if err != nil {
		fmt.Fprintf(ready, "%v\n", err)
		syscall.Exit(126)
	}
	fmt.Fprintf(ready, "ok\n")
	ready.Close()
	_ = os.Chdir("/")
}

func init() {
	if os.Getenv(nsHoldEnv) != "" {
		if plan := os.Getenv(nsRootEnv); plan != "" {
			buildHostRoot(plan)
		}
		runHolder()
	}
	plan := os.Getenv(nsInitEnv)
	if plan == "" {
		return
	}
	runtime.LockOSThread() // the capability bounding set and setns are per thread
	var err error
	first := os.Getenv(nsStageEnv) == ""
	if pidns, userns := planStage(plan); first && pidns != "" {
		err = enterPidNS(pidns, userns)
	} else {
		err = runNSInit(plan)
	}
	fmt.Fprintf(os.Stderr, "xenlab-sim: cannot enter the host: %v\n", err)
	syscall.Exit(126) // not os.Exit, which a race-enabled binary makes sleep a second
}

// planStage reads what decides a command's first stage: the host's PID
// namespace to join, or whether it entered the host's user namespace.
func planStage(planJSON string) (pidns string, userns bool) {
	var p struct {
		PidNS  string `json:"pidns"`
		UserNS bool   `json:"userns"`
	}
	_ = json.Unmarshal([]byte(planJSON), &p)
	return p.PidNS, p.UserNS
}

// runHolder is pid 1 of a host's PID namespace: it reaps what is
// reparented to it and ignores the signals a command could send it. When
// it dies (Close kills it, or the simulator dies: its parent-death signal)
// the kernel kills every process of the namespace.
func runHolder() {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM)
	for {
		_, err := syscall.Wait4(-1, nil, 0, nil)
		if err == syscall.ECHILD {
			time.Sleep(time.Second)
		}
	}
}

// setnsSyscall is setns(2)'s number, which package syscall does not name.
var setnsSyscall = map[string]uintptr{"amd64": 308, "arm64": 268, "386": 346, "arm": 375,
	"riscv64": 268, "loong64": 268, "ppc64le": 350, "s390x": 339}

// enterPidNS is a command's first stage: it joins the host's PID namespace
// and runs the second stage (this program again, the same plan) as its
// child there, then ends as the child did (exit status or signal). Signals
// sent to the command's process group reach the child directly. In the
// host's user namespace (userns), the second stage starts in the fresh
// mount and UTS namespaces, which only a process in it may make.
func enterPidNS(pidns string, userns bool) error {
	fd, err := syscall.Open(pidns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("host's PID namespace: %w", err)
	}
	nr, ok := setnsSyscall[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(nr, uintptr(fd), syscall.CLONE_NEWPID, 0); e != 0 {
		return fmt.Errorf("join the host's PID namespace: %w", e)
	}
	syscall.Close(fd)
	if !userns {
		if err := joinHolderNet(pidns); err != nil {
			return err
		}
	}
	cmd := exec.Command("/proc/self/exe")
	if userns {
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	}
	return runSecondStage(cmd)
}

// runSecondStage runs cmd (this program, the same plan) as the command's
// second stage and ends as it did (exit status or signal). Signals sent
// to the command's process group reach the child directly.
func runSecondStage(cmd *exec.Cmd) error {
	cmd.Args = []string{"xenlab-sim-command"}
	cmd.Env = append(os.Environ(), nsStageEnv+"=2")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Handled (not ignored, which the child would inherit), so that this
	// stage outlives a signal the child traps.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM)
	if err := cmd.Start(); err != nil {
		return err
	}
	_ = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		signal.Reset(ws.Signal())
		_ = syscall.Kill(os.Getpid(), ws.Signal())
		syscall.Exit(128 + int(ws.Signal()))
	}
	syscall.Exit(ws.ExitStatus())
	return nil
}

// nsMount is one step of building a command's root. Dst is a path inside
// the host; Src a path on this machine.
type nsMount struct {
	Kind string `json:"k"` // robind, bind, proc, devtmp, sysoverlay, symlink
	Src  string `json:"s,omitempty"`
	Dst  string `json:"d"`
	File bool   `json:"f,omitempty"` // the mount point is a file
}

// nsInit is the plan a re-executed copy of this program follows.
type nsInit struct {
	Root     string    `json:"root"`            // the host's directory: becomes /
	PidNS    string    `json:"pidns,omitempty"` // the host's PID namespace (/proc/<pid>/ns/pid), if any
	Mounts   []nsMount `json:"mounts"`
	Hostname string    `json:"hostname,omitempty"`
	Dir      string    `json:"dir"`            // working directory inside the host
	Path     string    `json:"path,omitempty"` // the program executed; "" is /bin/sh
	Argv     []string  `json:"argv"`           // its arguments, from argv[0]
	// UserNS: the command entered the host's user namespace (userns.go):
	// its first stage starts the second in fresh mount and UTS
	// namespaces, which binds recursively and binds devices.
	UserNS bool `json:"userns,omitempty"`
}

// droppedCaps are taken out of the bounding set of every command: with
// them a command could undo its mounts or reach around them (SYS_ADMIN,
// DAC_READ_SEARCH's open_by_handle_at, MKNOD of a disk device, SYS_RAWIO,
// SYS_MODULE, SYS_PTRACE, BPF, PERFMON), change this machine's network,
// clock or boot state (NET_ADMIN, SYS_TIME, SYS_BOOT, WAKE_ALARM), or mark
// files for it (SETFCAP, LINUX_IMMUTABLE, MAC_*, AUDIT_CONTROL, SYSLOG).
var droppedCaps = []uintptr{
	2,  // CAP_DAC_READ_SEARCH
	9,  // CAP_LINUX_IMMUTABLE
	12, // CAP_NET_ADMIN
	16, // CAP_SYS_MODULE
	17, // CAP_SYS_RAWIO
	19, // CAP_SYS_PTRACE
	20, // CAP_SYS_PACCT
	21, // CAP_SYS_ADMIN
	22, // CAP_SYS_BOOT
	25, // CAP_SYS_TIME
	27, // CAP_MKNOD
	30, // CAP_AUDIT_CONTROL
	31, // CAP_SETFCAP
	32, // CAP_MAC_OVERRIDE
	33, // CAP_MAC_ADMIN
	34, // CAP_SYSLOG
	35, // CAP_WAKE_ALARM
	38, // CAP_PERFMON
	39, // CAP_BPF
	40, // CAP_CHECKPOINT_RESTORE
}

const prCapbsetDrop = 24

func runNSInit(planJSON string) error {
	var p nsInit
	if err := json.Unmarshal([]byte(planJSON), &p); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if len(p.Argv) == 0 {
		return errors.New("plan: no command")
	}
	if err := buildRoot(p); err != nil {
		return err
	}
	if err := dropCaps(); err != nil {
		return err
	}
	if err := os.Chdir(p.Dir); err != nil {
		_ = os.Chdir("/")
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, nsInitEnv+"=") })
	if p.Path == "" {
		p.Path = "/bin/sh"
	}
	return syscall.Exec(p.Path, p.Argv, env)
}

// dropCaps takes droppedCaps out of the calling thread's bounding set,
// which the programs it executes or starts inherit.
func dropCaps() error {
	for _, c := range droppedCaps {
		_, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prCapbsetDrop, c, 0)
		if e != 0 && e != syscall.EINVAL { // EINVAL: the kernel has no such capability
			return fmt.Errorf("drop capability %d: %w", c, e)
		}
	}
	return nil
}

// buildRoot makes plan's root the root of this process's mount namespace
// (made for it) and sets the host name.
func buildRoot(p nsInit) error {
	if !filepath.IsAbs(p.Root) {
		return errors.New("plan: no root")
	}
	// Nothing mounted here may reach this machine's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	root := p.Root
	if err := syscall.Mount(root, root, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", root, err)
	}
	// The host's own files: no set-user-ID programs, no device nodes.
	rootFlags := uintptr(syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_NOSUID | syscall.MS_NODEV)
	if p.UserNS {
		rootFlags |= lockedFlags(root)
	}
	if err := syscall.Mount("", root, "", rootFlags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", root, err)
	}
	for _, m := range p.Mounts {
		if err := m.apply(root, p.UserNS); err != nil {
			return err
		}
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	// pivot_root with the old root stacked on the new one, then detached:
	// this machine's tree is no longer reachable from the namespace.
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if p.Hostname != "" {
		if err := syscall.Sethostname([]byte(p.Hostname)); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	return nil
}

// apply makes one mount (or link) of a command's root below root; userns
// says it is made in a user namespace (userns.go).
func (m nsMount) apply(root string, userns bool) error {
	dst := filepath.Join(root, m.Dst)
	if m.Kind == "symlink" {
		if err := os.Symlink(m.Src, dst); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		} // else the host has its own (or a concurrent command just made it)
		return nil
	}
	if err := mountPoint(dst, m.File); err != nil {
		return fmt.Errorf("mount point %s: %w", m.Dst, err)
	}
	var err error
	bind := uintptr(syscall.MS_BIND)
	if userns {
		bind |= syscall.MS_REC
	}
	switch m.Kind {
	case "robind", "bind":
		err = syscall.Mount(m.Src, dst, "", bind, "")
		if err == nil && m.Kind == "robind" {
			flags := uintptr(syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV)
			if userns {
				flags |= lockedFlags(m.Src)
			}
			err = syscall.Mount("", dst, "", flags, "")
		}
	case "proc":
		err = syscall.Mount("proc", dst, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
		if err == nil { // a command cannot change this machine's sysctls
			sys := filepath.Join(dst, "sys")
			err = syscall.Mount(sys, sys, "", syscall.MS_BIND, "")
			if err == nil {
				err = syscall.Mount("", sys, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, "")
			}
		}
	case "sysoverlay":
		// The host's own facts (Src) over this machine's /sys, read-only.
		if m.Src == "" {
			err = syscall.Mount("/sys", dst, "", bind, "")
			if err == nil {
				err = syscall.Mount("", dst, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
			}
			break
		}
		if userns { // an overlay may not have /sys (locked submounts) below it there
			err = mountSysUnion(dst, m.Src)
			break
		}
		err = syscall.Mount("xenlab-sys", dst, "overlay", syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "lowerdir="+m.Src+":/sys")
	case "devtmp":
		err = makeDev(dst, userns)
	default:
		err = fmt.Errorf("unknown kind %q", m.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", m.Kind, m.Src, m.Dst, err)
	}
	return nil
}

func mountPoint(p string, file bool) error {
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if !file {
		return os.MkdirAll(p, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// makeDev gives the namespace a /dev of its own on a tmpfs: the harmless
// character devices, no disks.
// In a user namespace they are this machine's, bound onto files.
func makeDev(dst string, userns bool) error {
	if err := syscall.Mount("xenlab-dev", dst, "tmpfs", syscall.MS_NOSUID|syscall.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
		return err
	}
	for _, d := range []struct {
		name       string
		major, min int
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		p := filepath.Join(dst, d.name)
		if userns {
			if err := bindDevice("/dev/"+d.name, p); err != nil {
				return err
			}
			continue
		}
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, d.major<<8|d.min); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil { // past the umask
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	for _, d := range []string{"shm", "pts"} {
		if err := os.Mkdir(filepath.Join(dst, d), 0o1777); err != nil {
			return err
		}
	}
	return nil
}
