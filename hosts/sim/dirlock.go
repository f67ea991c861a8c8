package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"xenlab/hosts/sim/ovs"
)

// lockFile is the file in a state directory that the simulator serving it
// holds locked (flock), with its pid inside for the message a second one
// gets. The kernel drops the lock when the process ends, however it ends,
// so a directory left by a killed simulator is free again at once, and
// what that simulator left in it (its switches' run directories) may be
// cleared by the next one.
const lockFile = "sim.lock"

// tempPrefix names the state directories made in the system's temporary
// directory when Options.Dir is "".
const tempPrefix = "xenlab-sim-"

// lockDir takes dir's lock, or says which process holds it. A fresh
// directory (one just made) gets its lock file already locked (written
// under another name, locked, then renamed), so that reapTempDirs never
// sees it unlocked.
func lockDir(dir string, fresh bool) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	open := path
	if fresh {
		open = path + ".new"
	}
	f, err := os.OpenFile(open, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					holder = "pid " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("another simulator (%s) serves %s; stop it first or give another --dir", holder, dir)
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if fresh {
		if err := os.Rename(open, path); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
	}
	return f, nil
}

// reapTempDirs removes the temporary state directories of simulators
// that were killed (SIGKILL gives Close no chance): those in the system's
// temporary directory named like ours whose lock file nobody holds. A
// directory without a lock file is not ours to judge and stays.
func reapTempDirs(logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(d, lockFile))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			ovs.RemoveShortRunDirs(d)
			if err := os.RemoveAll(d); err == nil {
				logf("sim: removed %s, left by a simulator that was killed", d)
			}
		}
		f.Close()
	}
}
