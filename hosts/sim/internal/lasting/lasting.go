// Package lasting runs functions on one OS thread that lives as long as
// the process. A child started with a parent-death signal
// (SysProcAttr.Pdeathsig) gets it when the thread that started it ends,
// not the process, and Go ends a thread when a goroutine locked to it
// exits (the simulator's SSH servers lock one per host to start commands in
// the host's PID namespace, and let it go with the host). Children that must
// die with the simulator, and only then, are started through Run.
package lasting

import (
	"runtime"
	"sync"
)

var (
	once  sync.Once
	calls = make(chan func())
)

// Run calls f on the lasting thread and returns when it has returned.
func Run(f func()) {
	once.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread is never reused or ended
			for f := range calls {
				f()
			}
		}()
	})
	done := make(chan struct{})
	calls <- func() {
		defer close(done)
		f()
	}
	<-done
}
