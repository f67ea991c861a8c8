package sim

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
)

// serveEnv makes the test binary a simulator on the directory it names
// ("" for a temporary one), with the switch mode of serveModeEnv, that
// says "ready" and serves until it is killed.
const (
	serveEnv     = "XENLAB_SIM_TEST_SERVE"
	serveModeEnv = "XENLAB_SIM_TEST_SERVE_OVS"
)

func TestMain(m *testing.M) {
	if dir, ok := os.LookupEnv(serveEnv); ok {
		os.Exit(serveUntilKilled(dir, ovs.Mode(os.Getenv(serveModeEnv))))
	}
	os.Exit(m.Run())
}

func serveUntilKilled(dir string, mode ovs.Mode) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: dir, OVS: mode, Logf: func(string, ...any) {}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready", h.Dir(), h.dom0SW.Mode())
	<-ctx.Done() // killed long before
	return 1
}

// startKilledLater starts a simulator process on dir and waits until it
// serves; it returns the process and what it printed.
func startKilledLater(t *testing.T, ctx context.Context, dir string, mode ovs.Mode) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+dir, serveModeEnv+"="+string(mode))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		t.Fatalf("the simulator process said %q (%v)", line, err)
	}
	return cmd, strings.TrimSpace(line)
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// entries lists a directory's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

// logLines collects Logf lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestSIGKILLThenRestart: a simulator killed with SIGKILL leaves its
// directory to the next one, which starts on real Open vSwitch again
// (where it can run here) after clearing the killed one's run
// directories, including the short one in the system's temporary
// directory a long --dir needs; while the first runs, a second on its
// directory is refused, naming it. Nothing either leaves in the system's
// temporary directory, not even the plugins' Python helpers.
func TestSIGKILLThenRestart(t *testing.T) {
	mode := ovs.ModeReal
	if err := ovs.RealAvailable(); err != nil {
		t.Logf("real Open vSwitch cannot run here (%v): the model switch only", err)
		mode = ovs.ModeModel
	}
	for _, long := range []bool{false, true} {
		t.Run(fmt.Sprintf("long dir %v", long), func(t *testing.T) {
			dir := t.TempDir()
			if long { // dom0's run directory is then too long for unix sockets
				dir = filepath.Join(dir, strings.Repeat("d", 80))
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			first, said := startKilledLater(t, ctx, dir, mode)
			if !strings.HasSuffix(said, " "+string(mode)) {
				t.Fatalf("the first simulator: %q, want its switch %s", said, mode)
			}
			if _, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: t.Logf}); err == nil ||
				!strings.Contains(err.Error(), fmt.Sprintf("another simulator (pid %d) serves %s", first.Process.Pid, dir)) {
				t.Fatalf("a second simulator on a served directory: %v", err)
			}
			kill(t, first)
			for _, e := range entries(t, tmp) {
				if strings.HasPrefix(e, "xapid-python-") {
					t.Errorf("the killed simulator left %s in the system's temporary directory", e)
				}
			}

			var lg logLines
			h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeAuto, Logf: lg.logf})
			if err != nil {
				t.Fatalf("starting again after a SIGKILL: %v", err)
			}
			if got := h.dom0SW.Mode(); got != mode || lg.has("using the model instead") {
				t.Errorf("after a SIGKILL dom0's switch is %s, want %s; log:\n%s", got, mode, strings.Join(lg.lines, "\n"))
			}
			short := 0
			for _, e := range entries(t, tmp) {
				if strings.HasPrefix(e, "xlovs") {
					short++
				} else {
					t.Errorf("the system's temporary directory holds %s", e)
				}
			}
			if want := map[bool]int{false: 0, true: 1}[long]; short != want {
				t.Errorf("%d short run directories in the system's temporary directory, want %d (the killed one's removed)", short, want)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if left := entries(t, tmp); len(left) != 0 {
				t.Errorf("left in the system's temporary directory: %v", left)
			}
		})
	}

	// Without a directory the simulator makes one in the system's
	// temporary directory; a killed one's is removed by the next.
	t.Run("temporary dir", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		first, said := startKilledLater(t, ctx, "", ovs.ModeModel)
		killedDir := strings.Fields(said)[1]
		kill(t, first)
		if _, err := os.Stat(killedDir); err != nil {
			t.Fatalf("the killed simulator's directory: %v", err)
		}
		var lg logLines
		h, err := Start(ctx, Options{OVS: ovs.ModeModel, Logf: lg.logf})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(killedDir); err == nil || !lg.has("removed "+killedDir+", left by a simulator that was killed") {
			t.Errorf("the killed simulator's %s is still there (%v); log %q", killedDir, err, lg.lines)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if left := entries(t, tmp); len(left) != 0 {
			t.Errorf("left in the system's temporary directory: %v", left)
		}
	})
}
