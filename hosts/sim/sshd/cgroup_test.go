package sshd

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestStaleCgroupsAreRemoved: a host's cgroup records the host's root
// directory; a cgroup of xenlab's whose root is gone and which holds no
// process (a simulator killed, its directory removed: a test's) is removed
// by the next simulator, and no other: not one whose root is there (a live
// or a stopped host), not one that holds a process, not one without the
// record (an older simulator's, which may be running).
func TestStaleCgroupsAreRemoved(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a host's cgroup needs root")
	}
	mnt, err := cgroup2Mount()
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	mk := func(root string) string {
		t.Helper()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		dir := filepath.Join(mnt, cgroupPrefix+"test-"+hex.EncodeToString(b))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(dir) })
		if root != "" {
			if err := syscall.Setxattr(dir, rootXattr, []byte(root), 0); err != nil {
				t.Skipf("cgroup v2 here keeps no %s: %v", rootXattr, err)
			}
		}
		return dir
	}
	gone := mk(filepath.Join(t.TempDir(), "gone"))
	live := mk(t.TempDir())
	unmarked := mk("")
	busy := mk(filepath.Join(t.TempDir(), "gone"))
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Wait()
	defer sleeper.Process.Kill()
	if err := os.WriteFile(filepath.Join(busy, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}

	removeStaleCgroups(mnt)
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the cgroup of a host whose root is gone is still there (%v)", err)
	}
	for _, dir := range []string{live, unmarked, busy} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}

	// A host's own cgroup records its root.
	root := t.TempDir()
	cg, err := openHostCgroup(root)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.close()
	buf := make([]byte, 4096)
	n, err := syscall.Getxattr(cg.dir, rootXattr, buf)
	if err != nil || string(buf[:n]) != root {
		t.Errorf("the host's cgroup records %q (%v), want %s", buf[:max(n, 0)], err, root)
	}
}
