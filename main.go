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

// main cancels the command's context on Ctrl-C and SIGTERM, and on SIGPIPE
// (`xenlab up | head`): then the engine stops, and what was started, such
// as the built-in simulated host, is stopped and cleaned up rather than
// left behind by a process killed in the middle of a write.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	code := cli.Main(ctx, os.Args[1:], cli.StdIO())
	stop()
	os.Exit(code)
}
