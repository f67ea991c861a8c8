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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.StdIO())
	stop()
	os.Exit(code)
}
