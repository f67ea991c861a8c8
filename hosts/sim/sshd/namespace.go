package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"

	hostssh "xenlab/hosts/ssh"
)

var (
	probeOnce sync.Once
	probeErr  error
)

// inMountNS makes cmd start in a mount and a UTS namespace of its own.
func inMountNS(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS
}

// probeMountNS checks once per process that a command can get a root of
// its own here: the kernel and container allowing mount namespaces,
// pivot_root, tmpfs, proc and overlay mounts, and, when this process is
// not root, user namespaces and nsenter (userns.go). It runs the real
// thing on an empty host.
func probeMountNS() error {
	probeOnce.Do(func() {
		if os.Geteuid() != 0 {
			if err := probeUserNS(); err != nil {
				probeErr = fmt.Errorf("not root, and no user namespace of its own: %w", err)
			}
			return
		}
		dir, err := os.MkdirTemp("", "xenlab-nsprobe-")
		if err != nil {
			probeErr = err
			return
		}
		defer os.RemoveAll(dir)
		plan := nsInit{Root: dir, Mounts: machineMounts(""), Dir: "/", Argv: []string{"sh", "-c", "test -d /usr/bin && test -c /dev/null && test ! -e /etc/shadow"}}
		cmd, err := nsCommand(context.Background(), plan)
		if err == nil {
			var out []byte
			if out, err = cmd.CombinedOutput(); err != nil {
				err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
			}
		}
		if err != nil {
			probeErr = fmt.Errorf("own-root probe: %w", err)
		}
	})
	return probeErr
}

func chooseIsolation(want Isolation) (Isolation, error) {
	switch want {
	case IsolationPaths:
		return IsolationPaths, nil
	case IsolationMountNS:
		if err := probeMountNS(); err != nil {
			return "", fmt.Errorf("isolation mountns unavailable: %w", err)
		}
		return IsolationMountNS, nil
	default:
		if probeMountNS() == nil {
			return IsolationMountNS, nil
		}
		return IsolationPaths, nil
	}
}

// nsCommand is the process that builds plan's root and runs its command:
// this program again, in fresh mount and UTS namespaces.
func nsCommand(ctx context.Context, plan nsInit) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own root: %w", err)
	}
	data, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{"xenlab-sim-command"}
	cmd.Env = []string{nsInitEnv + "=" + string(data)}
	cmd.Dir = "/"
	inMountNS(cmd)
	return cmd, nil
}

// systemDirs are this machine's directories of programs and libraries that
// every host sees read-only (or as the same symbolic links, on a
// merged-/usr system).
var systemDirs = map[string]bool{"bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true, "libx32": true}

// machineMounts is the part of a command's root that comes from this
// machine: its programs and libraries read-only (all of /usr but
// /usr/local, which is the host's; machineEtcDirs), a /dev with only the harmless
// character devices, a proc whose sysctls are read-only, and /sys
// read-only with sysTop (the host's own facts), if set, over it. Anything
// else (/etc, /tmp, /var, /root, /opt, /home, /usr/local) is the host's.
func machineMounts(sysTop string) []nsMount {
	var ms []nsMount
	entries, _ := os.ReadDir("/")
	for _, e := range entries {
		name := e.Name()
		p := "/" + name
		switch {
		case e.Type()&os.ModeSymlink != 0 && (systemDirs[name] || name == "usr"):
			if t, err := os.Readlink(p); err == nil {
				ms = append(ms, nsMount{Kind: "symlink", Src: t, Dst: p})
			}
		case systemDirs[name] && e.IsDir():
			ms = append(ms, nsMount{Kind: "robind", Src: p, Dst: p})
		case name == "usr" && e.IsDir():
			subs, _ := os.ReadDir("/usr")
			for _, u := range subs {
				up := "/usr/" + u.Name()
				switch {
				case u.Name() == "local":
				case u.Type()&os.ModeSymlink != 0:
					if t, err := os.Readlink(up); err == nil {
						ms = append(ms, nsMount{Kind: "symlink", Src: t, Dst: up})
					}
				case u.IsDir():
					ms = append(ms, nsMount{Kind: "robind", Src: up, Dst: up})
				}
			}
		}
	}
	for _, name := range machineEtcDirs {
		if fi, err := os.Stat("/etc/" + name); err == nil && fi.IsDir() {
			ms = append(ms, nsMount{Kind: "robind", Src: "/etc/" + name, Dst: "/etc/" + name})
		}
	}
	return append(ms,
		nsMount{Kind: "devtmp", Dst: "/dev"},
		nsMount{Kind: "proc", Dst: "/proc"},
		nsMount{Kind: "sysoverlay", Src: sysTop, Dst: "/sys"})
}

// rootPlan is how a command of user u gets its root: the host's directory,
// this machine's programs (machineMounts), Config.ReadOnlyBinds, and the
// directories of Config.Env's PATH prefix (the host's switch tools and
// their socket) at their own paths.
func (s *Server) rootPlan(u User, argv []string, machineDirs ...string) nsInit {
	ms := machineMounts(s.cfg.ReadOnlyBinds["/sys"])
	for _, dst := range slices.Sorted(maps.Keys(s.cfg.ReadOnlyBinds)) {
		if dst == "/sys" {
			continue
		}
		src := s.cfg.ReadOnlyBinds[dst]
		fi, err := os.Stat(src)
		if err != nil {
			continue
		}
		ms = append(ms, nsMount{Kind: "robind", Src: src, Dst: dst, File: !fi.IsDir()})
	}
	// KeepPaths read-only: they hold what the simulator serves the host
	// (the switch tools, whose front end is a hard link of the
	// simulator's own executable, and their sockets, which connect on a
	// read-only mount too); a command must not write into this machine's
	// files through them.
	for _, k := range s.cfg.KeepPaths {
		if fi, err := os.Stat(k); err == nil && fi.IsDir() {
			ms = append(ms, nsMount{Kind: "robind", Src: k, Dst: k})
		}
	}
	for _, k := range machineDirs {
		if fi, err := os.Stat(k); err == nil && fi.IsDir() {
			ms = append(ms, nsMount{Kind: "bind", Src: k, Dst: k})
		}
	}
	plan := nsInit{Root: s.cfg.Root, Mounts: ms, Hostname: s.cfg.Hostname, Dir: u.Home, Argv: argv}
	if s.pidns != nil {
		plan.PidNS = s.pidns.ns
	}
	return plan
}

// shq quotes s as one word for /bin/sh.
var shq = hostssh.ShellQuote
