package ovs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"xenlab/hosts/sim/internal/netns"
	"xenlab/hosts/sim/toolfront"
)

// SchemaPath is the Open vSwitch database schema Debian installs.
const SchemaPath = "/usr/share/openvswitch/vswitch.ovsschema"

// realBinaries are what a real switch needs.
var realBinaries = []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ip", "nsenter"}

// Bounds on waiting for the daemons.
const (
	readyTimeout  = 10 * time.Second
	readyInterval = 50 * time.Millisecond
	stopTimeout   = 5 * time.Second
)

// lookBin finds a binary on PATH or in the sbin directories, which a
// non-login PATH may lack.
func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin", name)
}

// RealAvailable says why real Open vSwitch processes cannot run here, or
// nil when they can be tried.
func RealAvailable() error {
	for _, b := range realBinaries {
		if _, err := lookBin(b); err != nil {
			return fmt.Errorf("%w: %v (install Debian openvswitch-switch)", ErrRealUnavailable, err)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (network namespaces and ovs-vswitchd need root)", ErrRealUnavailable)
	}
	if _, err := os.Stat(SchemaPath); err != nil {
		return fmt.Errorf("%w: schema %s: %v", ErrRealUnavailable, SchemaPath, err)
	}
	return nil
}

// daemon is one child process and what it left when it exited.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

// realSwitch is a Switch backed by its own ovsdb-server and ovs-vswitchd,
// ovs-vswitchd in a network namespace of its own (made when it starts, gone
// when it exits, so nothing is left behind even if this process dies) with
// the userspace datapath.
type realSwitch struct {
	runDir, binDir string
	removeRun      func()
	version        string
	bins           map[string]string
	daemons        []*daemon // started order
	srv            *toolfront.Server
	netns          *netns.NS // ovs-vswitchd's, when the host has one (OpenIn); nil: its own
	once           sync.Once
	closeErr       error
}

func openReal(ctx context.Context, dir string, ns *netns.NS) (_ *realSwitch, err error) {
	if err := RealAvailable(); err != nil {
		return nil, err
	}
	unavailable := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrRealUnavailable, fmt.Sprintf(format, a...))
	}
	s := &realSwitch{binDir: filepath.Join(dir, "bin"), bins: map[string]string{}, netns: ns}
	for _, b := range realBinaries {
		s.bins[b], _ = lookBin(b)
	}
	if s.runDir, s.removeRun, err = makeRunDir(dir); err != nil {
		return nil, fmt.Errorf("real switch: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.version, err = s.vswitchdVersion(ctx); err != nil {
		return nil, unavailable("%v", err)
	}
	db := filepath.Join(s.runDir, "conf.db")
	if err := s.createDB(ctx, db); err != nil {
		return nil, unavailable("%v", err)
	}
	sock := filepath.Join(s.runDir, "db.sock")
	if err := s.start("ovsdb-server", 0, s.bins["ovsdb-server"], db, "--remote=punix:"+sock,
		"--pidfile="+filepath.Join(s.runDir, "ovsdb-server.pid"), "--log-file="+filepath.Join(s.runDir, "ovsdb-server.log")); err != nil {
		return nil, unavailable("%v", err)
	}
	if err := s.waitReady(ctx, s.daemons[0], func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	}); err != nil {
		return nil, unavailable("%v", err)
	}
	if out, err := s.run(ctx, s.bins["ovs-vsctl"], "--no-wait", "--timeout=10", "init", "--", "set", "Open_vSwitch", ".", "ovs_version="+s.version); err != nil {
		return nil, unavailable("ovs-vsctl init: %v: %s", err, tail(out))
	}
	vswitchdNS := uintptr(syscall.CLONE_NEWNET) // a namespace of its own...
	if ns != nil {
		vswitchdNS = 0 // ...or its host's, which start enters
	}
	if err := s.start("ovs-vswitchd", vswitchdNS, s.bins["ovs-vswitchd"], "unix:"+sock,
		"--pidfile="+filepath.Join(s.runDir, "ovs-vswitchd.pid"), "--log-file="+filepath.Join(s.runDir, "ovs-vswitchd.log")); err != nil {
		return nil, unavailable("%v", err)
	}
	if err := s.waitReady(ctx, s.daemons[1], func() bool {
		return unixctlVersion(s.vswitchdCtl()) == nil
	}); err != nil {
		return nil, unavailable("%v", err)
	}
	srv, err := startToolServer(filepath.Join(s.runDir, "tools.sock"), s.binDir, s.Exec)
	if err != nil {
		return nil, fmt.Errorf("real switch in %s: %w", dir, err)
	}
	s.srv = srv
	if err := s.installDirectTools(); err != nil {
		return nil, fmt.Errorf("real switch in %s: %w", dir, err)
	}
	return s, nil
}

// env is the environment every OVS tool and daemon of this switch runs
// with, so that their default run, database and log paths are its own.
func (s *realSwitch) env() []string {
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	for _, v := range []string{"OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR", "OVS_PKGDATADIR"} {
		if v == "OVS_PKGDATADIR" {
			env = append(env, v+"=/usr/share/openvswitch")
			continue
		}
		env = append(env, v+"="+s.runDir)
	}
	return env
}

// run runs a short command and returns its combined output.
func (s *realSwitch) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.env()
	return cmd.CombinedOutput()
}

// start launches a daemon as our child (no --detach), logging to a file;
// cloneflags may give it new namespaces (syscall.CLONE_NEWNET).
func (s *realSwitch) start(name string, cloneflags uintptr, bin string, args ...string) error {
	logPath := filepath.Join(s.runDir, name+".out")
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = s.env()
	cmd.Dir = s.runDir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: cloneflags}
	// From a thread that ends with the process only, so that the
	// parent-death signal means the simulator's death (package lasting),
	// while it is in the host's network namespace when there is one.
	if e := s.netns.Lasting(func() { err = cmd.Start() }); e != nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	s.daemons = append(s.daemons, d)
	return nil
}

// waitReady polls ready every readyInterval until it holds, failing as
// soon as the daemon exits or ctx ends, and after readyTimeout at most.
func (s *realSwitch) waitReady(ctx context.Context, d *daemon, ready func() bool) error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(readyInterval)
	defer tick.Stop()
	for !ready() {
		select {
		case <-d.done:
			out, _ := os.ReadFile(d.log)
			return fmt.Errorf("%s exited while starting: %v: %s", d.name, d.err, tail(out))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", d.name, ctx.Err())
		case <-deadline.C:
			out, _ := os.ReadFile(d.log)
			return fmt.Errorf("%s not ready after %v: %s", d.name, readyTimeout, tail(out))
		case <-tick.C:
		}
	}
	return nil
}

// Exec runs the real tool with this switch's environment. A new bridge is
// given the userspace datapath, since no kernel module is assumed.
func (s *realSwitch) Exec(ctx context.Context, argv []string, stdin []byte) (Result, error) {
	if len(argv) == 0 {
		return Result{}, fmt.Errorf("ovs: empty command line")
	}
	tool := filepath.Base(argv[0])
	bin, ok := s.bins[tool]
	if !ok || !strings.HasPrefix(tool, "ovs-") {
		return Result{}, fmt.Errorf("ovs: %q is not an Open vSwitch tool", argv[0])
	}
	args := argv[1:]
	switch tool {
	case "ovs-vsctl":
		args = withNetdevBridges(withoutDB(args))
	case "ovs-ofctl", "ovs-appctl":
		var err error
		if args, err = s.confineSockets(tool, args); err != nil {
			return Result{Stderr: []byte(tool + ": " + err.Error() + "\n"), ExitCode: 1}, nil
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		r.ExitCode = ee.ExitCode()
	default:
		return r, fmt.Errorf("ovs: run %s: %w", strings.Join(argv, " "), err)
	}
	return r, nil
}

// confineSockets keeps the sockets ovs-ofctl and ovs-appctl open, run by
// Exec in this process (which sees this machine's files, not a host's),
// in this switch's run directory: a path in DefaultRunDir, where a host
// with a root of its own sees the run directory (HostBinds), is taken to
// it, and a socket named anywhere else (by path, "unix:" name, a bridge
// or target name that climbs out of the run directory) is refused, since
// it could be another switch's or this machine's own Open vSwitch's. The
// names each tool opens are Open vSwitch v3.1.0's: ovs-ofctl's
// open_vconn__ (the word as a socket, RUNDIR/WORD.mgmt or .snoop,
// RUNDIR/DATAPATH.mgmt), ovs-appctl's connect_to_target (an absolute
// -t/--target, else RUNDIR/TARGET.pid and .ctl). Network names (tcp:,
// ssl:) are left alone.
func (s *realSwitch) confineSockets(tool string, args []string) ([]string, error) {
	out := slices.Clone(args)
	if tool == "ovs-appctl" {
		for i := 0; i < len(out) && strings.HasPrefix(out[i], "-") && out[i] != "--"; i++ {
			// The target's value, if this option gives one: out[at][from:].
			a, at, from := out[i], -1, 0
			switch name, long := strings.CutPrefix(a, "--"); {
			case long && strings.HasPrefix(name, "ta") && strings.HasPrefix("target", strings.SplitN(name, "=", 2)[0]):
				if k := strings.IndexByte(a, '='); k >= 0 {
					at, from = i, k+1
				} else {
					at = i + 1
				}
			case long && strings.HasPrefix(name, "ti") && strings.HasPrefix("timeout", name):
				i++
			case !long:
				// A cluster of short letters: the first t or T takes the
				// rest of the word, or the next word, as its value.
				j := strings.IndexAny(a[1:], "tT") + 1
				switch {
				case j == 0:
				case a[j] == 'T':
					if j == len(a)-1 {
						i++
					}
				case j < len(a)-1:
					at, from = i, j+1
				default:
					at = i + 1
				}
			}
			if at >= 0 && at < len(out) {
				v, err := s.appctlTarget(out[at][from:])
				if err != nil {
					return nil, err
				}
				out[at] = out[at][:from] + v
				i = at
			}
		}
		return out, nil
	}
	for i, w := range out {
		if p, ok := strings.CutPrefix(w, "unix:"); ok {
			if p = s.toRun(p); !s.inRun(p) {
				return nil, notThisSwitchs(w)
			}
			out[i] = "unix:" + p
			continue
		}
		if strings.HasPrefix(w, "-") || !strings.Contains(w, "/") || strings.Contains(w, ":") {
			continue
		}
		w = s.toRun(w)
		out[i] = w
		dp := w
		if k := strings.LastIndexByte(w, '@'); k >= 0 {
			dp = w[k+1:]
		}
		for _, p := range []string{w, filepath.Join(s.runDir, w+".mgmt"), filepath.Join(s.runDir, w+".snoop"),
			filepath.Join(s.runDir, dp+".mgmt"), filepath.Join(s.runDir, dp+".snoop")} {
			if abs, err := filepath.Abs(p); err == nil && !s.inRun(abs) && isSocket(p) {
				return nil, notThisSwitchs(args[i])
			}
		}
	}
	return out, nil
}

// appctlTarget is ovs-appctl's target v as this switch's: an absolute
// path (a control socket) in the run directory, a daemon's name whose
// pid file and socket are there.
func (s *realSwitch) appctlTarget(v string) (string, error) {
	if strings.HasPrefix(v, "/") {
		if p := s.toRun(v); s.inRun(p) {
			return p, nil
		}
		return "", notThisSwitchs(v)
	}
	if !s.inRun(filepath.Join(s.runDir, v)) {
		return "", notThisSwitchs(v)
	}
	return v, nil
}

// inRun reports whether path p is in the switch's run directory.
func (s *realSwitch) inRun(p string) bool {
	c := filepath.Clean(p)
	return c == s.runDir || strings.HasPrefix(c, s.runDir+"/")
}

// toRun is path p with DefaultRunDir, where a host with a root of its own
// sees the switch's run directory, taken to the run directory.
func (s *realSwitch) toRun(p string) string {
	if rest, ok := strings.CutPrefix(p, DefaultRunDir+"/"); ok {
		return filepath.Join(s.runDir, rest)
	}
	return p
}

// isSocket reports whether p is a unix socket.
func isSocket(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// notThisSwitchs is confineSockets' refusal of the socket name w.
func notThisSwitchs(w string) error {
	return fmt.Errorf("%s: not a socket of this host's switch", w)
}

// vsctlValueOptions are ovs-vsctl's global options whose value may be
// the next word (required_argument: Open vSwitch v3.1.0,
// utilities/ovs-vsctl.c parse_options, lib/table.h TABLE_LONG_OPTIONS,
// lib/stream-ssl.h STREAM_SSL_LONG_OPTIONS, include/openvswitch/vlog.h
// VLOG_LONG_OPTIONS), and the commands' options with a value, which
// parse_options takes before the first command too (lib/db-ctl-base.c
// ctl_add_cmd_options: "--id=", "--columns=", "--inactivity-probe=");
// getopt_long also takes a long one by a unique prefix of its name.
// vsctlValueShort are their short letters.
var vsctlValueOptions = []string{"db", "timeout", "format", "data", "max-column-width",
	"syslog-method", "syslog-target", "private-key", "certificate", "ca-cert",
	"ssl-protocols", "ssl-ciphers", "bootstrap-ca-cert", "peer-ca-cert",
	"id", "columns", "inactivity-probe"}

const vsctlValueShort = "tfdpcC"

// vsctlOption is the number of words (1 or 2) the global option at
// args[0] takes, as ovs-vsctl's getopt_long reads it: a word "--NAME"
// whose NAME starts a value option's name takes the next word as its
// value; so does a cluster of short letters ending in a value option's
// letter ("-t 5"; "-t5" and "-vt" are whole, -v's value being optional).
func vsctlOption(args []string) int {
	a := args[0]
	if name, ok := strings.CutPrefix(a, "--"); ok {
		if name != "" && !strings.Contains(name, "=") {
			for _, o := range vsctlValueOptions {
				if strings.HasPrefix(o, name) {
					return min(2, len(args))
				}
			}
		}
		return 1
	}
	for i := 1; i < len(a); i++ {
		switch {
		case a[i] == 'v':
			return 1 // -v[SPEC]: the rest of the word, if any
		case strings.IndexByte(vsctlValueShort, a[i]) >= 0:
			if i == len(a)-1 {
				return min(2, len(args))
			}
			return 1
		}
	}
	return 1
}

// vsctlCommandStart is the index of the first word after ovs-vsctl's
// global options: its first command, or the "--" before it.
func vsctlCommandStart(args []string) int {
	i := 0
	for i < len(args) && args[i] != "--" && strings.HasPrefix(args[i], "-") && args[i] != "-" {
		i += vsctlOption(args[i:])
	}
	return min(i, len(args))
}

// withoutDB drops --db options, so that a command can only reach this
// host's database (never the machine's own Open vSwitch). Only global
// options are looked at: ovs-vsctl reads options before its first command
// only (a "--db=" after it is a command's option, which no command has).
func withoutDB(args []string) []string {
	end := vsctlCommandStart(args)
	out := make([]string, 0, len(args))
	for i := 0; i < end; {
		n := vsctlOption(args[i:end])
		if a := args[i]; a != "--db" && !strings.HasPrefix(a, "--db=") {
			out = append(out, args[i:i+n]...)
		}
		i += n
	}
	return append(out, args[end:]...)
}

// withNetdevBridges appends "-- set Bridge B datapath_type=netdev" for each
// "add-br B" command of an ovs-vsctl command line.
func withNetdevBridges(args []string) []string {
	var extra []string
	check := func(seg []string) {
		i := 0
		for i < len(seg) && strings.HasPrefix(seg[i], "-") {
			i++ // a command's options: "--NAME[=VALUE]", one word
		}
		if i+1 < len(seg) && seg[i] == "add-br" && len(seg)-i == 2 {
			extra = append(extra, "--", "set", "Bridge", seg[i+1], "datapath_type=netdev")
		}
	}
	rest := args[vsctlCommandStart(args):]
	for len(rest) > 0 {
		if rest[0] == "--" {
			rest = rest[1:]
		}
		seg := rest
		if k := slices.Index(rest, "--"); k >= 0 {
			seg, rest = rest[:k], rest[k:]
		} else {
			rest = nil
		}
		check(seg)
	}
	if len(extra) == 0 {
		return args
	}
	return append(append([]string(nil), args...), extra...)
}

// BinDir holds the tool front ends.
func (s *realSwitch) BinDir() string { return s.binDir }

// ToolDirs are the directories the BinDir tools need: BinDir and the
// directory of the socket they reach the switch through.
func (s *realSwitch) ToolDirs() []string { return []string{s.binDir, s.runDir} }

// Mode is ModeReal.
func (s *realSwitch) Mode() Mode { return ModeReal }

// AddLink creates a tap device named name in the switch's namespace, the
// one ovs-vswitchd (daemons[1]) runs in.
func (s *realSwitch) AddLink(ctx context.Context, name string) error {
	pid := strconv.Itoa(s.daemons[1].cmd.Process.Pid)
	out, err := s.run(ctx, s.bins["nsenter"], "--target", pid, "--net", "--", s.bins["ip"], "tuntap", "add", "dev", name, "mode", "tap")
	if err != nil {
		return fmt.Errorf("ovs: add link %s in the namespace of ovs-vswitchd (pid %s): %w: %s", name, pid, err, tail(out))
	}
	return nil
}

// DelLink removes the tap device name from the switch's namespace; a
// device that is not there is not an error.
func (s *realSwitch) DelLink(ctx context.Context, name string) error {
	pid := strconv.Itoa(s.daemons[1].cmd.Process.Pid)
	out, err := s.run(ctx, s.bins["nsenter"], "--target", pid, "--net", "--", s.bins["ip"], "link", "delete", "dev", name)
	if err != nil && !strings.Contains(string(out), "Cannot find device") {
		return fmt.Errorf("ovs: delete link %s in the namespace of ovs-vswitchd (pid %s): %w: %s", name, pid, err, tail(out))
	}
	return nil
}

// Close stops the tool server and the daemons (SIGTERM, then SIGKILL after
// a bound), which ends ovs-vswitchd's namespace, and removes the run files.
func (s *realSwitch) Close() error {
	s.once.Do(func() {
		var errs []error
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		}
		for i := len(s.daemons) - 1; i >= 0; i-- {
			errs = append(errs, stopDaemon(s.daemons[i]))
		}
		if s.removeRun != nil {
			s.removeRun()
		}
		_ = os.RemoveAll(s.binDir)
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func stopDaemon(d *daemon) error {
	select {
	case <-d.done:
		return nil
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", d.name, d.cmd.Process.Pid)
	}
}

// tail returns the last lines of a command's output, for errors.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}
