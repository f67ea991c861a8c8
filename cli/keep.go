package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"xenlab/hosts/sim"
	"xenlab/internal/atomicfile"
)

// A kept host is the built-in simulated XenServer host that `xenlab up`
// starts when there is no lab file, as kind keeps its cluster: a detached
// `xenlab sim serve` (its own session, so the terminal's Ctrl-C does not
// reach it) whose state directory is $XDG_STATE_HOME/xenlab/<name>/
// (~/.local/state/xenlab/<name>/ by default). The directory holds the
// simulator's state and lab file (lab.hcl, written by sim serve), a copy
// of the xenlab binary it runs (bin/xenlab: `go run` removes its own when
// it ends), its log (sim.log) and the record of the running process
// (host.json: pid and endpoints). Nothing goes into the working directory.

// builtinName is the built-in lab's name: the simulator's lab file says
// lab = "sim", and its state directory is named after it.
const builtinName = "sim"

// Files of a kept host's state directory.
const (
	keptRecord = "host.json" // the running process: keptHost
	keptLog    = "sim.log"   // sim serve's stderr
	keptLogDir = "logs"      // --log-dir of the built-in lab's runs
)

// keptStartTimeout bounds how long a starting simulator may take to print
// its endpoints (it builds dom0's root and, as root, starts Open vSwitch).
const keptStartTimeout = 2 * time.Minute

// keptStopTimeout bounds how long a stopping simulator may take to end
// after SIGTERM before it is killed.
const keptStopTimeout = 30 * time.Second

// keptHost is the record of a kept host, host.json in its directory.
type keptHost struct {
	Name      string        `json:"name"`
	Dir       string        `json:"dir"`
	PID       int           `json:"pid"`
	Started   time.Time     `json:"started"`
	Binary    string        `json:"binary"`
	Log       string        `json:"log"`
	Endpoints sim.Endpoints `json:"endpoints"`
}

// stateHome is $XDG_STATE_HOME/xenlab, or ~/.local/state/xenlab (the XDG
// Base Directory default; a relative $XDG_STATE_HOME is ignored, as the
// specification says).
func stateHome() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "xenlab"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory for the built-in lab: %w (set XDG_STATE_HOME)", err)
	}
	return filepath.Join(home, ".local", "state", "xenlab"), nil
}

// keptDir is the state directory of the kept host name.
func keptDir(name string) (string, error) {
	home, err := stateHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, name), nil
}

// keptState is what a kept host's directory says about it.
type keptState int

const (
	keptNone    keptState = iota // no directory: no lab was brought up there
	keptStopped                  // a directory without a live process (stopped, or its record was stale)
	keptRunning                  // a live simulator that answers
)

// findKept reads the kept host name: its record when its process lives
// and answers. A record whose process is gone (killed, the machine
// rebooted) is stale: it is removed, and stale says so. A live process
// that does not answer is an error.
func findKept(name string) (rec *keptHost, st keptState, stale string, err error) {
	dir, err := keptDir(name)
	if err != nil {
		return nil, keptNone, "", err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, keptNone, "", nil
	}
	data, err := os.ReadFile(filepath.Join(dir, keptRecord))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, keptStopped, "", nil
	}
	if err != nil {
		return nil, keptNone, "", err
	}
	rec = &keptHost{}
	if err := json.Unmarshal(data, rec); err != nil || rec.PID <= 0 {
		os.Remove(filepath.Join(dir, keptRecord))
		return nil, keptStopped, fmt.Sprintf("%s was not a record of a simulated host (removed)", filepath.Join(dir, keptRecord)), nil
	}
	if !rec.alive() {
		os.Remove(filepath.Join(dir, keptRecord))
		return nil, keptStopped, fmt.Sprintf("the simulated host of %s (pid %d) is gone: its record was stale and is removed", dir, rec.PID), nil
	}
	if err := rec.answers(); err != nil {
		return rec, keptRunning, "", fmt.Errorf("the built-in simulated host (pid %d, %s) runs but does not answer: %w; "+
			"its log is %s; `xenlab sim stop` stops it", rec.PID, dir, err, rec.Log)
	}
	return rec, keptRunning, "", nil
}

// alive reports whether the record's process runs and is this kept host's
// `sim serve` (not another process that reuses its pid).
func (k *keptHost) alive() bool {
	if err := syscall.Kill(k.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", k.PID)); err == nil {
		// "pid (comm) S ...": a zombie has ended.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k.PID))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	return len(args) >= 5 && args[1] == "sim" && args[2] == "serve" && slices.Index(args, k.Dir) > 0
}

// answers dials dom0's SSH port: the simulator serves when it accepts.
func (k *keptHost) answers() error {
	c, err := net.DialTimeout("tcp", k.Endpoints.Dom0SSH, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// startKept starts the kept host name: a copy of this binary runs `sim
// serve --dir DIR --quiet` detached (setsid; stdin /dev/null, stderr to
// DIR/sim.log), and the endpoints line it prints on stdout when it serves
// is recorded with its pid in DIR/host.json. The directory is made 0700:
// it holds the simulated host's password and keys.
func startKept(ctx context.Context, name string) (*keptHost, error) {
	dir, err := keptDir(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o700); err != nil {
		return nil, fmt.Errorf("the built-in lab's state directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "bin", "xenlab")
	if err := copyExecutable(bin); err != nil {
		return nil, fmt.Errorf("copying xenlab into %s: %w", dir, err)
	}
	logPath := filepath.Join(dir, keptLog)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s: xenlab sim serve --dir %s (started by xenlab up, pid %d)\n", time.Now().UTC().Format(time.RFC3339), dir, os.Getpid())
	cmd := exec.Command(bin, "sim", "serve", "--dir", dir, "--quiet")
	cmd.Dir = dir
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the built-in simulated host: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	fail := func(why error) (*keptHost, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("starting the built-in simulated host: %w; its log: %s%s", why, logPath, logTail(logPath))
	}
	timer := time.NewTimer(keptStartTimeout)
	defer timer.Stop()
	var ep sim.Endpoints
	select {
	case l, ok := <-line:
		if !ok {
			return fail(errors.New("it ended before it served"))
		}
		if err := json.Unmarshal([]byte(l), &ep); err != nil || ep.LabFile == "" {
			return fail(fmt.Errorf("its endpoints line %q does not parse: %v", l, err))
		}
	case <-timer.C:
		return fail(fmt.Errorf("it did not serve within %s", keptStartTimeout))
	case <-ctx.Done():
		return fail(context.Cause(ctx))
	}
	rec := &keptHost{Name: name, Dir: dir, PID: cmd.Process.Pid, Started: time.Now().UTC(), Binary: bin, Log: logPath, Endpoints: ep}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, keptRecord), 0o600, append(data, '\n')); err != nil {
		return fail(err)
	}
	// sim serve writes nothing more on stdout; it is left to init to reap.
	go io.Copy(io.Discard, stdout)
	cmd.Process.Release()
	return rec, nil
}

// copyExecutable copies the running binary to dst (atomically: a running
// simulator keeps the file it was started from).
func copyExecutable(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o700, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// logTail is the last lines of a log file, for an error message.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	return ":\n" + lastLines(string(data), 10)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the kept host: SIGTERM to its process (sim serve stops its
// guests, switches and servers and exits 0), SIGKILL to its session if it
// has not ended within keptStopTimeout. The record is removed.
func (k *keptHost) stop() error {
	defer os.Remove(filepath.Join(k.Dir, keptRecord))
	if !k.alive() {
		return nil
	}
	if err := syscall.Kill(k.PID, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stopping the simulated host (pid %d): %w", k.PID, err)
	}
	if waitGone(k, keptStopTimeout) {
		return nil
	}
	syscall.Kill(-k.PID, syscall.SIGKILL) // its session's process group: it is the leader
	if waitGone(k, 5*time.Second) {
		return fmt.Errorf("the simulated host (pid %d) did not stop within %s of SIGTERM and was killed; its log: %s", k.PID, keptStopTimeout, k.Log)
	}
	return fmt.Errorf("the simulated host (pid %d) did not stop, even killed", k.PID)
}

// waitGone waits, a bounded number of short pauses, for a process that is
// not this one's child to end (it cannot be waited for).
func waitGone(k *keptHost, limit time.Duration) bool {
	const pause = 50 * time.Millisecond
	for range int(limit / pause) {
		if !k.alive() {
			return true
		}
		time.Sleep(pause)
	}
	return !k.alive()
}

// removeKept stops the kept host name (if it runs) and removes its state
// directory: the simulated host's disks, keys and the lab they held.
func removeKept(name string) error {
	dir, err := keptDir(name)
	if err != nil {
		return err
	}
	rec, _, _, _ := findKept(name)
	if rec != nil {
		if err := rec.stop(); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

// keptNames lists the state directories under stateHome.
func keptNames() ([]string, error) {
	home, err := stateHome()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(home)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// pidString is a pid for a table: "-" when none.
func pidString(rec *keptHost) string {
	if rec == nil {
		return "-"
	}
	return strconv.Itoa(rec.PID)
}

// lockKept serialises the `up`s that find or start the kept host name:
// two of them at once would start two simulators on one directory. It
// makes the state directory (0700) and holds an flock(2) on its parent,
// $XDG_STATE_HOME/xenlab, until the returned function is called (not on
// the directory itself: the simulator takes turns there on known_hosts).
func lockKept(name string) (func(), error) {
	dir, err := keptDir(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("the built-in lab's state directory: %w", err)
	}
	f, err := os.Open(filepath.Dir(dir))
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
