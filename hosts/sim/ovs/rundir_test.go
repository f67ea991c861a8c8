package ovs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStaleRunDirectory: a run directory a killed switch left (its
// conf.db, a pid file naming no live daemon) is cleared by the next
// start; one whose daemon still runs is refused, naming it, and kept.
func TestStaleRunDirectory(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	db, pidFile := filepath.Join(run, "conf.db"), filepath.Join(run, "ovsdb-server.pid")
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ path, data string }{{db, "stale"}, {pidFile, strconv.Itoa(done.Process.Pid) + "\n"}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path, remove, err := makeRunDir(dir)
	if err != nil {
		t.Fatalf("a stale run directory: %v", err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("the stale conf.db is still there: %v", err)
	}
	remove()

	// A live daemon: its command line names the pid file.
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	live := exec.Command("sh", "-c", "sleep 60; :", "ovsdb-server", "--pidfile="+pidFile)
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(live.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { staleDaemonWait = d }(staleDaemonWait)
	staleDaemonWait = 0
	_, _, err = makeRunDir(dir)
	if want := fmt.Sprintf("(pid %d) still runs there", live.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("a run directory in use: %v, want %q", err, want)
	}
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("the run directory in use was touched: %v", err)
	}
}
