// Command xenlab brings up a devstack-style OpenStack networking lab on a
// XenServer or XCP-ng host (or on the built-in simulated host), resets it,
// and tears it down. See README.md and docs/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"xenlab/cli"
)

// main runs the command with a context that Ctrl-C (SIGINT) and SIGTERM
// cancel, the signal as the cause: the engine stops, what was started (such
// as the built-in simulated host) is stopped and cleaned up, and the
// process exits 130 or 143. A second signal ends the process at once.
//
// SIGPIPE is not a cancellation. It is caught and dropped so that a write
// to a closed pipe returns EPIPE instead of killing the process: on stdout
// (`xenlab up | head`) cli.Main then stops the run quietly; on any other
// pipe (an SSH session, a plugin's pipe in `xenlab sim serve`) it is that
// connection's error and nothing else. It is caught rather than ignored so
// that the programs xenlab starts get the default SIGPIPE behaviour.
//
// SIGHUP ignored at start (`nohup xenlab sim serve &`) stays ignored by
// xenlab, but is caught and dropped for the same reason: an ignored signal
// is inherited, and the simulated host's dom0 and guest commands (the
// devstack stand-in's agents, which SIGHUP stops as screen's quit does)
// would otherwise start with it ignored, as nothing on a real host does.
func main() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if signal.Ignored(syscall.SIGHUP) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Reset(os.Interrupt, syscall.SIGTERM) // the next one ends the process
		cancel(cli.SignalCause(sig))
	}()
	code := cli.Main(ctx, os.Args[1:], cli.StdIO())
	cancel(nil)
	os.Exit(code)
}
