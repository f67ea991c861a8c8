package lasting

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The main goroutine keeps the main thread: a goroutine locked to the main
// thread that ends does not end the thread (Go wedges it instead), so a
// test goroutine that landed there would see no parent-death signal, and
// the test would skip for a reason that is not the kernel's.
func init() { runtime.LockOSThread() }

// startSleep starts a child with a parent-death signal from a goroutine
// locked to its thread, which then exits (and Go ends the thread), the way
// a host's command spawner goes. viaRun chooses whether the start goes
// through Run.
func startSleep(t *testing.T, viaRun bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		if viaRun {
			var err error
			Run(func() { err = cmd.Start() })
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	if err := <-errc; err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// exited reports whether cmd ends within a bounded number of polls.
func exited(cmd *exec.Cmd) bool {
	done := make(chan struct{})
	go func() { cmd.Process.Wait(); close(done) }()
	for range 50 {
		select {
		case <-done:
			return true
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	return false
}

func TestChildStartedThroughRunOutlivesTheThread(t *testing.T) {
	if !exited(startSleep(t, false)) {
		t.Skip("this kernel did not send the parent-death signal when the starting thread ended")
	}
	if exited(startSleep(t, true)) {
		t.Fatal("a child started through Run died when the goroutine that asked for it ended its thread")
	}
}
