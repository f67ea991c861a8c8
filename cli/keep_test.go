package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeptRecords: the state directory is $XDG_STATE_HOME/xenlab/<name>;
// without it there is no lab, with it and no record the host is stopped,
// and a record whose process is gone (or is another program) is stale:
// removed, and said. The commands say what to do in each case.
func TestKeptRecords(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir, err := keptDir(builtinName)
	if err != nil || dir != filepath.Join(os.Getenv("XDG_STATE_HOME"), "xenlab", "sim") {
		t.Fatalf("keptDir = %q, %v", dir, err)
	}
	if rec, st, stale, err := findKept(builtinName); rec != nil || st != keptNone || stale != "" || err != nil {
		t.Fatalf("no directory: %v %v %q %v", rec, st, stale, err)
	}
	code, _, stderr := run(t, "", false, "down", "--yes")
	if code != ExitOK || !strings.Contains(stderr, "nothing to remove") {
		t.Fatalf("down with no lab: exit %d, %s", code, stderr)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "", false, "reset")
	if code != ExitFailed || !strings.Contains(stderr, "the built-in simulated host is stopped") || !strings.Contains(stderr, "`xenlab up` starts it") {
		t.Fatalf("reset on a stopped host: exit %d, %s", code, stderr)
	}

	// A record of a process that is not a simulator: a sleep of ours.
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	rec := keptHost{Name: builtinName, Dir: dir, PID: sleep.Process.Pid}
	data, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, keptRecord), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, st, stale, err := findKept(builtinName)
	if got != nil || st != keptStopped || !strings.Contains(stale, "record was stale and is removed") || err != nil {
		t.Fatalf("a record of another process: %v %v %q %v", got, st, stale, err)
	}
	if _, err := os.Stat(filepath.Join(dir, keptRecord)); !os.IsNotExist(err) {
		t.Fatalf("the stale record is still there: %v", err)
	}
	code, stdout, _ := run(t, "", false, "sim", "list")
	if code != ExitOK || !strings.Contains(stdout, "sim   stopped  -") {
		t.Fatalf("sim list: exit %d:\n%s", code, stdout)
	}
	code, _, stderr = run(t, "", false, "down", "--yes")
	if code != ExitOK || !strings.Contains(stderr, "was not running: removed its state directory") {
		t.Fatalf("down of a stopped host: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the state directory is still there: %v", err)
	}
	if code, _, stderr := run(t, "", false, "sim", "stop", "../x"); code != ExitUsage {
		t.Fatalf("sim stop ../x: exit %d, %s", code, stderr)
	}
}

// TestStateHomeDefault: without XDG_STATE_HOME (or with a relative one,
// which the XDG specification says to ignore) the state lives in
// ~/.local/state/xenlab.
func TestStateHomeDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"", "relative/dir"} {
		t.Setenv("XDG_STATE_HOME", v)
		if got, err := stateHome(); err != nil || got != filepath.Join(home, ".local", "state", "xenlab") {
			t.Errorf("XDG_STATE_HOME=%q: %q, %v", v, got, err)
		}
	}
}
