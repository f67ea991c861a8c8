// Package race says whether this program was built with the race detector
// (`go build -race`, `go test -race`) and gives the environment that the
// copies of this program it starts should get.
package race

import (
	"os"
	"strings"
)

// ChildEnv is what to add to the environment of a process that runs this
// program again (the simulated hosts' namespace stages and dom0's `xe`,
// which are this program; the xenlab binary the root package's tests
// build with -race): nothing, unless this program is built with the race
// detector. Then every such process would sleep a second as it exits (the
// detector's atexit_sleep_ms, 1000 by default, which gives other threads
// time to print a late report), and a simulated host runs a few of them
// for every command: a bring-up under `go test -race` would wait minutes
// for nothing. So it is GORACE with atexit_sleep_ms=0 added to whatever
// GORACE this process got (a value given for atexit_sleep_ms is kept).
func ChildEnv() []string {
	if !Enabled {
		return nil
	}
	v := os.Getenv("GORACE")
	if !strings.Contains(v, "atexit_sleep_ms=") {
		v = strings.TrimSpace(v + " atexit_sleep_ms=0")
	}
	return []string{"GORACE=" + v}
}
