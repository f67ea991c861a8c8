package sshd

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/sim/internal/netns"
)

// Config describes one simulated host's SSH server.
type Config struct {
	// Name names the host in logs and in XENLAB_SIM_HOST ("dom0",
	// "DevStackOSDomU").
	Name string
	// Root is the directory on this machine that holds the host's file
	// system. It is created if missing.
	Root string
	// Addr is the loopback address to listen on, "127.0.0.1:0" for any free
	// port, or a fixed one such as "127.12.34.2:2222".
	Addr string
	// HostKeyFile holds the server's ed25519 host key (OpenSSH PEM). It is
	// generated on first start and reused afterwards, so known_hosts
	// entries stay valid across restarts.
	HostKeyFile string
	// Users are the accounts that may log in.
	Users map[string]User
	// Env is extra environment for commands. A PATH entry is a prefix put
	// before the host's own and the system's directories (for example the
	// directory of the host's ovs-vsctl).
	Env []string
	// Skeleton is created under Root on Start: keys are absolute paths
	// inside the host; a key ending in "/" is a directory, any other key a
	// file with that content (mode 0755 when it starts with "#!", else
	// 0644). Existing files are left as they are, so a restarted host keeps
	// its state.
	Skeleton map[string]string
	// HostPaths are the host-owned trees a host has and this machine does
	// not (kept for callers; under IsolationMountNS every path is the
	// host's own, and programs come read-only from this machine).
	HostPaths []string
	// KeepPaths are directories of this machine that commands under
	// IsolationMountNS reach at the same path (bound read-only into the
	// host's root): the host's switch tools and their socket, say. The
	// mount points are made in the host's tree.
	KeepPaths []string
	// Hostname, when set, is the host name commands see under
	// IsolationMountNS (their own UTS namespace), as `hostname` and
	// uname -n print it on the host.
	Hostname string
	// ReadOnlyBinds show directories of this machine read-only inside the
	// host's tree for commands under IsolationMountNS: each key is a
	// directory of the host (created under Root), its value the machine's
	// directory mounted there before the host's trees hide anything (a
	// program under /root that the host's own /root would cover).
	ReadOnlyBinds map[string]string
	// Builtins are programs of the host the simulator carries out itself,
	// by the path of their file as commands see it (a KeepPaths directory
	// on PATH, say): an SSH command line that is only such a program and
	// its arguments runs in this process (Builtin).
	Builtins map[string]Builtin
	// Isolation chooses how commands see the host; "" means IsolationAuto.
	Isolation Isolation
	// NetNS, when set, is the host's network namespace (package
	// hostnet): the server listens there and, under IsolationMountNS as
	// root, the host's commands run there (its PID namespace's pid 1 is
	// started in it and every command joins it). Nil: this machine's.
	NetNS *netns.NS
	// Logf receives connection-level logs (never secrets or commands).
	// Nil discards them.
	Logf func(format string, args ...any)
}

// User is one account of a simulated host.
type User struct {
	// Password enables password authentication when not empty.
	Password string
	// AuthorizedKeys may log in with public-key authentication.
	AuthorizedKeys []ssh.PublicKey
	// Home is the user's absolute home directory inside the host, such as
	// "/root" or "/opt/stack". It is created on Start.
	Home string
}

// Isolation says how a command sees its host's file system.
type Isolation string

const (
	// IsolationAuto is IsolationMountNS when the server may make mount
	// namespaces (as root, or through user namespaces and nsenter when it
	// is not), else IsolationPaths.
	IsolationAuto Isolation = "auto"
	// IsolationMountNS runs each command in a root of its host's own: the
	// host's directory is /, this machine's programs are bound read-only
	// into it, and the command has no CAP_SYS_ADMIN to undo that.
	IsolationMountNS Isolation = "mountns"
	// IsolationPaths only maps HOME, the working directory and PATH to the
	// host's directories.
	IsolationPaths Isolation = "paths"
)

// DefaultHostPaths are the host-owned trees a XenServer dom0 or a devstack
// domU has and a Debian machine does not.
var DefaultHostPaths = []string{
	"/etc/xapi.d",
	"/etc/xensource",
	"/etc/xensource-inventory",
	"/etc/xcp",
	"/opt/xensource",
	"/opt/stack",
	"/etc/neutron",
	"/etc/quantum",
}

func (c *Config) validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("Name is empty"))
	}
	if c.Root == "" || !filepath.IsAbs(c.Root) {
		errs = append(errs, fmt.Errorf("Root %q is not an absolute path", c.Root))
	}
	if c.HostKeyFile == "" {
		errs = append(errs, errors.New("HostKeyFile is empty"))
	}
	if len(c.Users) == 0 {
		errs = append(errs, errors.New("no Users"))
	}
	for name, u := range c.Users {
		if !path.IsAbs(u.Home) || path.Clean(u.Home) != u.Home {
			errs = append(errs, fmt.Errorf("user %q: Home %q is not a clean absolute path", name, u.Home))
		}
		if u.Password == "" && len(u.AuthorizedKeys) == 0 {
			errs = append(errs, fmt.Errorf("user %q has neither a password nor a key", name))
		}
	}
	for _, p := range c.KeepPaths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			errs = append(errs, fmt.Errorf("KeepPaths: %q is not a clean absolute path below /", p))
		}
	}
	for _, p := range c.HostPaths {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			errs = append(errs, fmt.Errorf("HostPaths: %q is not a clean absolute path below /", p))
		}
	}
	if strings.ContainsAny(c.Hostname, " \t\n/'\"\\$`") || len(c.Hostname) > 64 {
		errs = append(errs, fmt.Errorf("Hostname %q is not a host name", c.Hostname))
	}
	for dst, src := range c.ReadOnlyBinds {
		if !path.IsAbs(dst) || !filepath.IsAbs(src) || strings.ContainsAny(dst+src, "\n") {
			errs = append(errs, fmt.Errorf("ReadOnlyBinds: %q -> %q is not absolute paths", dst, src))
		}
	}
	for p := range c.Skeleton {
		if !path.IsAbs(p) {
			errs = append(errs, fmt.Errorf("Skeleton: %q is not absolute", p))
		}
	}
	for _, kv := range c.Env {
		if !strings.Contains(kv, "=") {
			errs = append(errs, fmt.Errorf("Env: %q is not NAME=value", kv))
		}
	}
	switch c.Isolation {
	case "", IsolationAuto, IsolationMountNS, IsolationPaths:
	default:
		errs = append(errs, fmt.Errorf("Isolation %q is not auto, mountns or paths", c.Isolation))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sshd %s: invalid config: %w", c.Name, err)
	}
	return nil
}
