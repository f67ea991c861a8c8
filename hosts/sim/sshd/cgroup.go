package sshd

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hostCgroup is the cgroup (v2) every command of a host starts in, so that
// everything a host started, including a daemon that left its session and
// cleared its environment, dies with it: Close writes cgroup.kill. Its name
// comes from the host's directory, so that a simulator that was killed
// before it could clean up has its leftovers killed at the next start.
type hostCgroup struct {
	dir string
	fd  int
}

// cgroupPrefix begins the name of every cgroup a simulated host makes.
const cgroupPrefix = "xenlab-sim-"

// rootXattr, on a host's cgroup, is the host's root directory: a cgroup
// whose root is gone and that holds no process is a leftover of a
// simulator killed before it could remove it (removeStaleCgroups).
const rootXattr = "trusted.xenlab-sim.root"

// removeStaleCgroups removes, under mnt, the cgroups of hosts whose root
// directory is gone and which hold no process: what a simulator killed
// before it could remove them left (a test's, whose directory went with
// the test). One without the record (an older simulator's, maybe still
// running) or whose root is there (a host running, or stopped with its
// state kept) stays; rmdir(2) refuses one that holds a process or a cgroup,
// which is how one in use stays.
func removeStaleCgroups(mnt string) {
	entries, err := os.ReadDir(mnt)
	if err != nil {
		return
	}
	buf := make([]byte, 4096)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), cgroupPrefix) {
			continue
		}
		dir := filepath.Join(mnt, e.Name())
		n, err := syscall.Getxattr(dir, rootXattr, buf)
		if err != nil || n <= 0 || n == len(buf) {
			continue
		}
		if _, err := os.Lstat(string(buf[:n])); !os.IsNotExist(err) {
			continue
		}
		_ = os.Remove(dir) // refused (EBUSY) while it holds a process
	}
}

// staleCgroupsOnce: the leftovers are looked for once per simulator.
var staleCgroupsOnce sync.Once

// cgroup2Mount is where this machine's cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system).
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4], nil
			}
		}
	}
	return "", errors.New("no cgroup2 file system mounted")
}

// openHostCgroup makes (or takes over) the host's cgroup.
func openHostCgroup(root string) (*hostCgroup, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not running as root")
	}
	mnt, err := cgroup2Mount()
	if err != nil {
		return nil, err
	}
	staleCgroupsOnce.Do(func() { removeStaleCgroups(mnt) })
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(mnt, cgroupPrefix+hex.EncodeToString(sum[:8]))
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return nil, err
	}
	// Best effort: a cgroup without it is never taken for a leftover.
	_ = syscall.Setxattr(dir, rootXattr, []byte(root), 0)
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup.kill missing (kernel before 5.14?): %w", err)
	}
	cg := &hostCgroup{dir: dir, fd: -1}
	cg.kill() // what a simulator that ended without Close left running

	fd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cg.fd = fd
	return cg, nil
}

// kill kills every process in the cgroup and waits (bounded) until it is
// empty; it returns how many there were.
func (cg *hostCgroup) kill() int {
	procs, _ := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs"))
	n := len(strings.Fields(string(procs)))
	if n == 0 {
		return 0
	}
	_ = os.WriteFile(filepath.Join(cg.dir, "cgroup.kill"), []byte("1"), 0)
	for range 200 {
		ev, _ := os.ReadFile(filepath.Join(cg.dir, "cgroup.events"))
		if strings.Contains(string(ev), "populated 0") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// close kills what is left and removes the cgroup.
func (cg *hostCgroup) close() int {
	n := cg.kill()
	if cg.fd >= 0 {
		syscall.Close(cg.fd)
	}
	_ = os.Remove(cg.dir)
	return n
}
