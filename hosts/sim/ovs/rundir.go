package ovs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// maxSocketDir is the longest run directory whose sockets (tools.sock,
// <bridge>.mgmt, ovs-vswitchd.<pid>.ctl) stay within a unix socket path's
// 107 bytes for bridge names up to 15 bytes (the Linux device name limit).
const maxSocketDir = 107 - len("/ovs-vswitchd.4194304.ctl")

// shortPrefix names the short run directories made in the system's
// temporary directory.
const shortPrefix = "xlovs"

// staleDaemonWait bounds the wait for the daemons of a killed switch to
// end.
var staleDaemonWait = 5 * time.Second

// daemonPIDFiles are the pid files the real switch's daemons write in the
// run directory (--pidfile).
var daemonPIDFiles = []string{"ovsdb-server.pid", "ovs-vswitchd.pid"}

// runDir makes the directory a switch keeps its sockets in: dir/run, or,
// when that path is too long for unix sockets, a short directory under the
// system's temporary directory with dir/run a symbolic link to it. remove
// deletes whatever was made.
//
// A run directory already there was left by a switch whose process was
// killed (SIGKILL gives Close no chance): its conf.db would stop
// ovsdb-tool create, and a short directory it links to would stay in the
// system's temporary directory. When no daemon named in its pid files
// runs any more it is removed first; when one still runs (another
// simulator on this directory) makeRunDir says so and touches nothing.
func makeRunDir(dir string) (path string, remove func(), err error) {
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := removeStaleRunDir(run); err != nil {
		return "", nil, err
	}
	if len(run) <= maxSocketDir {
		if err := os.MkdirAll(run, 0o755); err != nil {
			return "", nil, fmt.Errorf("create %s: %w", run, err)
		}
		return run, func() { _ = os.RemoveAll(run) }, nil
	}
	short, err := os.MkdirTemp("", shortPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("create a short run directory for %s: %w", dir, err)
	}
	if len(short) > maxSocketDir {
		_ = os.RemoveAll(short)
		return "", nil, fmt.Errorf("run directory %s is too long for unix sockets", short)
	}
	if err := os.Symlink(short, run); err != nil {
		_ = os.RemoveAll(short)
		return "", nil, fmt.Errorf("link %s to %s: %w", run, short, err)
	}
	return short, func() {
		_ = os.RemoveAll(short)
		_ = os.Remove(run)
	}, nil
}

// removeStaleRunDir removes run (a directory, or a link to a short run
// directory of ours) unless a daemon of its pid files still runs.
func removeStaleRunDir(run string) error {
	st, err := os.Lstat(run)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run directory %s: %w", run, err)
	}
	target := run
	if st.Mode()&fs.ModeSymlink != 0 {
		if target, err = os.Readlink(run); err != nil {
			return fmt.Errorf("run directory %s: %w", run, err)
		}
	}
	for _, f := range daemonPIDFiles {
		// The daemons of a switch whose process was just killed die of
		// their parent-death signal a moment later: give them that.
		deadline := time.Now().Add(staleDaemonWait)
		for {
			name, pid, ok := runningDaemon(filepath.Join(target, f))
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("run directory %s is in use: %s (pid %d) still runs there; is another simulator using this directory?", target, name, pid)
			}
			time.Sleep(readyInterval)
		}
	}
	// A link is followed only to a short run directory of ours.
	if target != run && isShortRunDir(target) {
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("removing the stale run directory %s: %w", target, err)
		}
	}
	if err := os.RemoveAll(run); err != nil {
		return fmt.Errorf("removing the stale run directory %s: %w", run, err)
	}
	return nil
}

// runningDaemon reports the daemon a pid file names when it still runs:
// a process of that pid whose command line names the pid file (so a pid
// reused by another process does not count).
func runningDaemon(pidFile string) (name string, pid int, ok bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return "", 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte("--pidfile="+pidFile)) {
		return "", 0, false
	}
	args := bytes.SplitN(cmdline, []byte{0}, 2)
	return filepath.Base(string(args[0])), pid, true
}

// isShortRunDir reports whether path is a short run directory makeRunDir
// makes in the system's temporary directory.
func isShortRunDir(path string) bool {
	return filepath.Dir(path) == filepath.Clean(os.TempDir()) && strings.HasPrefix(filepath.Base(path), shortPrefix)
}

// RemoveShortRunDirs removes the short run directories in the system's
// temporary directory that run directories under root link to: a state
// directory left by a killed simulator is about to be removed, and they
// would outlive it. One whose daemon still runs is left alone.
func RemoveShortRunDirs(root string) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if target, err := os.Readlink(path); err == nil && isShortRunDir(target) {
			_ = removeStaleRunDir(path)
		}
		return nil
	})
}
