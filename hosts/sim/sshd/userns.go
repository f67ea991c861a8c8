package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A server that is not root gets IsolationMountNS through a user namespace
// per host, where this machine allows unprivileged ones (Debian 12 does):
// the host's PID holder (pidns.go) is made in a new user namespace that
// maps uid and gid 0 to this user, and only this user (a single mapping
// needs no /etc/subuid, no newuidmap and no set-user-ID helper). Each
// command enters the host's user and PID namespaces with nsenter
// (util-linux; setns into a user namespace needs a single-threaded
// process, which a Go program never is), then this program starts the
// command's second stage in fresh mount and UTS namespaces owned by the
// host's user namespace, where it has the capabilities to build the
// host's root (nsinit.go) as root would, with these differences:
//
//   - /dev's devices are this machine's null, zero, full, random, urandom
//     and tty bound onto files, since a user namespace may not mknod;
//   - binds are recursive, since the mounts below this machine's
//     directories are locked to a user namespace and a non-recursive bind
//     that would uncover them is refused;
//   - every user of the host is uid 0 there, as every user is under root
//     (commands run as the server's user): `id -u` prints 0, and files the
//     host writes are this user's on this machine; a uid other than 0 is
//     not mapped, so `chown stack` fails where a real domU would succeed;
//   - there is no cgroup for the host (a cgroup needs root): its PID
//     namespace alone makes everything a command started die with it.
//
// docs/simulator.md, "What protects this machine", has the table.

var (
	nsenterOnce sync.Once
	nsenterPath string
	nsenterErr  error
)

// nsenter is util-linux's nsenter on this machine.
func nsenter() (string, error) {
	nsenterOnce.Do(func() {
		nsenterPath, nsenterErr = exec.LookPath("nsenter")
		if nsenterErr != nil {
			nsenterErr = fmt.Errorf("no nsenter (Debian util-linux) to enter a host's user namespace: %w", nsenterErr)
		}
	})
	return nsenterPath, nsenterErr
}

// inUserNS makes the process attr starts the first of a new user
// namespace in which uid and gid 0 are this process's.
func inUserNS(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	attr.GidMappingsEnableSetgroups = false // an unprivileged gid_map needs setgroups denied
}

// userNSCommand is the process that runs plan in the user and PID
// namespaces of holder: nsenter joins the user namespace (keeping this
// user, who is uid 0 there) and executes this program, whose first stage
// joins the PID namespace from one thread (as enterPidNS does as root:
// a process that joined another PID namespace may not start threads, so
// nsenter --pid would have to fork and stay in the way of signals) and
// starts the second stage from it in fresh mount and UTS namespaces.
func userNSCommand(ctx context.Context, holder *pidHolder, plan nsInit) (*exec.Cmd, error) {
	ne, err := nsenter()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own root: %w", err)
	}
	plan.UserNS, plan.PidNS = true, holder.ns
	data, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, ne, "--target", strconv.Itoa(holder.pid), "--user",
		"--preserve-credentials", "--", exe)
	cmd.Env = []string{nsInitEnv + "=" + string(data)}
	cmd.Dir = "/"
	return cmd, nil
}

// nsCommand is the process that builds plan's root and runs its command,
// the way this server's commands enter their host.
func (s *Server) nsCommand(ctx context.Context, plan nsInit) (*exec.Cmd, error) {
	if s.pidns != nil && s.pidns.userns {
		return userNSCommand(ctx, s.pidns, plan)
	}
	return nsCommand(ctx, plan)
}

// probeUserNS checks that a server that is not root can give a command a
// root of its own: it runs the real thing (a holder in a new user and PID
// namespace, a command entering it) on an empty host.
func probeUserNS() error {
	if _, err := nsenter(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "xenlab-nsprobe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, err := startPidHolder(Config{Name: "probe", Root: dir}, nil, true, nil)
	if err != nil {
		return fmt.Errorf("a user namespace of its own (unprivileged user namespaces disabled here?): %w", err)
	}
	defer h.stop()
	plan := nsInit{Root: dir, Mounts: machineMounts(""), Dir: "/", Argv: []string{"sh", "-c",
		`test -d /usr/bin && test -c /dev/null && echo x >/dev/null && test ! -e /etc/shadow && test "$(id -u)" = 0 && test $$ != 1`}}
	cmd, err := userNSCommand(context.Background(), h, plan)
	if err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// bindDevice shows this machine's device file src at dst (a user
// namespace may not make device nodes).
func bindDevice(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return nil
}

// roBindFlags remounts a bind read-only, keeping the flags a user
// namespace may not clear on a mount of this machine's.
const roBindFlags = syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC

// mountSysUnion is the user namespace's stand-in for the overlay of the
// host's facts over this machine's /sys (an overlay cannot have /sys,
// whose submounts are locked there, as a layer): a read-only tmpfs at dst
// that shows each entry of /sys by a recursive read-only bind, and the
// facts instead where they have an entry. A directory of the facts is
// merged with /sys's one of the same name, as in the overlay; one that
// must be shown alone (a guest's /sys/class/net) is a ReadOnlyBinds entry
// of its own, bound over this after (an overlay's opaque mark would need
// user xattrs, which tmpfs lacks before Linux 6.6).
func mountSysUnion(dst, facts string) error {
	if err := syscall.Mount("xenlab-sys", dst, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	if err := mergeSys(dst, "/sys", facts); err != nil {
		return err
	}
	return syscall.Mount("", dst, "", syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "")
}

func mergeSys(dst, machine, facts string) error {
	own := map[string]os.DirEntry{}
	fes, err := os.ReadDir(facts)
	if err != nil {
		return err
	}
	for _, e := range fes {
		own[e.Name()] = e
	}
	mes, _ := os.ReadDir(machine) // what this user may not list stays hidden
	for _, e := range mes {
		if _, ok := own[e.Name()]; ok {
			continue
		}
		if err := showAt(filepath.Join(machine, e.Name()), filepath.Join(dst, e.Name()), e.Type()); err != nil {
			return err
		}
	}
	for name, e := range own {
		f, m, d := filepath.Join(facts, name), filepath.Join(machine, name), filepath.Join(dst, name)
		if e.IsDir() {
			if fi, err := os.Lstat(m); err == nil && fi.IsDir() {
				if err := os.Mkdir(d, 0o755); err != nil {
					return err
				}
				if err := mergeSys(d, m, f); err != nil {
					return err
				}
				continue
			}
		}
		if err := showAt(f, d, e.Type()); err != nil {
			return err
		}
	}
	return nil
}

// showAt shows src (of type typ) at dst, a path on the tmpfs being built:
// a symbolic link is copied, a directory or file bound read-only.
func showAt(src, dst string, typ os.FileMode) error {
	switch {
	case typ&os.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return nil // gone meanwhile
		}
		return os.Symlink(t, dst)
	case typ.IsDir():
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
	default:
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o444)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	if err := syscall.Mount("", dst, "", roBindFlags, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", src, err)
	}
	return nil
}

// lockedFlags are the flags of the mount holding path that a user
// namespace may not clear when it remounts a bind of it (a noexec /tmp,
// a read-only file system): kept, or the remount fails. Access-time flags
// are kept by the kernel when a remount names none.
func lockedFlags(path string) uintptr {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0
	}
	const stRdonly, stNosuid, stNodev, stNoexec = 0x1, 0x2, 0x4, 0x8 // statvfs(3)'s ST_*
	var f uintptr
	for st_, ms := range map[int64]uintptr{stRdonly: syscall.MS_RDONLY, stNosuid: syscall.MS_NOSUID,
		stNodev: syscall.MS_NODEV, stNoexec: syscall.MS_NOEXEC} {
		if int64(st.Flags)&st_ != 0 {
			f |= ms
		}
	}
	return f
}
