package sshd

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	hostssh "xenlab/hosts/ssh"
)

var (
	probeOnce sync.Once
	probeErr  error
)

// inMountNS makes cmd start in a private mount namespace of its own, as
// unshare(1) --mount --propagation private would: Go unshares before the
// exec and marks / private, so no mount made in it reaches this machine.
func inMountNS(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWNS
}

// probeMountNS checks once per process that a private mount namespace
// with tmpfs and overlay mounts can be made here (root, and the kernel and
// container allowing it).
func probeMountNS() error {
	probeOnce.Do(func() {
		if os.Geteuid() != 0 {
			probeErr = errors.New("not running as root")
			return
		}
		// Mounts made here live only in the throw-away namespace.
		script := `set -e
mount -t tmpfs xenlab-probe /tmp
mkdir /tmp/l /tmp/u /tmp/w /tmp/m
mount -t overlay xenlab-probe -o lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w /tmp/m
mkdir /tmp/m/d
mount --bind /tmp/l /tmp/m/d`
		cmd := exec.Command("/bin/sh", "-c", script)
		inMountNS(cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("mount namespace probe: %w: %s", err, strings.TrimSpace(string(out)))
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

// bindMount is one host tree shown over its absolute path.
type bindMount struct {
	src, dst string
	dir      bool
	create   bool // the mount point does not exist on this machine
}

// nsPlan decides the mounts for a command of user u: which of the host's
// trees exist, where they go, and which parents need a throw-away overlay
// so that a missing mount point can be created without touching this
// machine.
func (s *Server) nsPlan(u User) (binds []bindMount, overlays []string) {
	wanted := append(append([]string(nil), s.cfg.HostPaths...), u.Home)
	sort.Strings(wanted)
	realRoot, err := filepath.EvalSymlinks(s.cfg.Root)
	if err != nil {
		return nil, nil
	}
	overlaid := map[string]bool{}
	var done []string
	for _, p := range wanted {
		if underAny(p, done) {
			continue // already visible through a bound parent (or a duplicate)
		}
		src := s.HostPath(p)
		fi, err := os.Lstat(src)
		if err != nil || !(fi.IsDir() || fi.Mode().IsRegular()) {
			continue // the host does not have it
		}
		// No symbolic link on the way may lead the source out of Root.
		if ev, err := filepath.EvalSymlinks(src); err != nil || ev != filepath.Join(realRoot, hostRel(p)) {
			s.logf("mountns: %s is not a plain path under the root; not mounted", p)
			continue
		}
		b := bindMount{src: src, dst: p, dir: fi.IsDir()}
		switch rfi, err := os.Lstat(p); {
		case err == nil && rfi.Mode()&os.ModeSymlink == 0 && rfi.IsDir() == b.dir:
		case err == nil:
			s.logf("mountns: %s exists here as another kind of file; not mounted", p)
			continue
		default:
			parent := path.Dir(p)
			if pfi, err := os.Stat(parent); parent == "/" || err != nil || !pfi.IsDir() ||
				strings.ContainsAny(parent, ",:\\ \t\n") {
				s.logf("mountns: no mount point for %s; not mounted", p)
				continue
			}
			b.create = true
			if !overlaid[parent] && !underAny(parent, done) {
				overlaid[parent] = true
				overlays = append(overlays, parent)
			}
		}
		binds = append(binds, b)
		done = append(done, p)
	}
	return binds, overlays
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// nsScript is the shell script a command's namespace starts with: it
// makes the mounts, then execs the user's shell in the home directory. $1,
// when given, is the command line.
func (s *Server) nsScript(u User) (string, error) {
	binds, overlays := s.nsPlan(u)
	var b strings.Builder
	b.WriteString("set -e\n")
	// The machine's directories first: the host's trees may cover them.
	for _, dst := range slices.Sorted(maps.Keys(s.cfg.ReadOnlyBinds)) {
		fmt.Fprintf(&b, "mount --bind -o ro %s %s\n", shq(s.cfg.ReadOnlyBinds[dst]), shq(s.HostPath(dst)))
	}
	if len(overlays) > 0 {
		scratch := s.nsScratch
		fmt.Fprintf(&b, "mount -t tmpfs -o mode=0700 xenlab-ns %s\n", shq(scratch))
		subs, err := submounts(overlays)
		if err != nil {
			return "", err
		}
		// Each mkdir and mount is a process: the scratch directories are
		// made by one.
		b.WriteString("mkdir")
		for i, dir := range overlays {
			kinds := "uw"
			if len(subs[dir]) > 0 {
				kinds = "uwo"
			}
			for _, k := range kinds {
				b.WriteString(" " + shq(scratch+"/"+string(k)+strconv.Itoa(i)))
			}
		}
		b.WriteString("\n")
		for i, dir := range overlays {
			if len(subs[dir]) > 0 {
				// Keep what is mounted below dir (a container's /etc/hosts)
				// visible through the overlay.
				o := shq(scratch + "/o" + strconv.Itoa(i))
				fmt.Fprintf(&b, "mount --rbind %s %s\n", shq(dir), o)
			}
			fmt.Fprintf(&b, "mount -t overlay xenlab-ns -o %s %s\n",
				shq("lowerdir="+dir+",upperdir="+scratch+"/u"+strconv.Itoa(i)+",workdir="+scratch+"/w"+strconv.Itoa(i)), shq(dir))
			for _, m := range subs[dir] {
				rel := strings.TrimPrefix(m, dir+"/")
				fmt.Fprintf(&b, "mount --bind %s %s\n", shq(scratch+"/o"+strconv.Itoa(i)+"/"+rel), shq(m))
			}
		}
	}
	var dirs []string
	for _, m := range binds {
		if m.create && m.dir {
			dirs = append(dirs, shq(m.dst))
		}
	}
	if len(dirs) > 0 {
		fmt.Fprintf(&b, "mkdir -p %s\n", strings.Join(dirs, " "))
	}
	for _, m := range binds {
		if m.create && !m.dir {
			fmt.Fprintf(&b, ": > %s\n", shq(m.dst))
		}
		fmt.Fprintf(&b, "mount --bind %s %s\n", shq(m.src), shq(m.dst))
	}
	if s.cfg.Hostname != "" {
		// The command's own UTS namespace (inMountNS): a redirection, no
		// process.
		fmt.Fprintf(&b, "echo %s > /proc/sys/kernel/hostname\n", shq(s.cfg.Hostname))
	}
	b.WriteString("set +e\n")
	fmt.Fprintf(&b, "cd %s || exit 1\n", shq(u.Home))
	b.WriteString("if [ $# -gt 0 ]; then exec /bin/sh -c \"$1\"; else exec /bin/sh; fi\n")
	return b.String(), nil
}

// submounts lists, for each of dirs, the mount points strictly below it,
// shallowest first, from /proc/self/mountinfo.
func submounts(dirs []string) (map[string][]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("mountns: %w", err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		for _, d := range dirs {
			if strings.HasPrefix(mp, d+"/") {
				out[d] = append(out[d], mp)
			}
		}
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return strings.Count(l[i], "/") < strings.Count(l[j], "/") })
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// shq quotes s as one word for /bin/sh.
var shq = hostssh.ShellQuote
