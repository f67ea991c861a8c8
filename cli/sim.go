package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"path/filepath"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
)

// runSim handles `xenlab sim serve`: a simulated XenServer host on loopback
// until SIGINT or SIGTERM. When ready it prints one JSON line with its
// endpoints and where its credentials are, and writes DIR/lab.hcl, which
// `xenlab up -f` uses as it is.
func runSim(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return usagef("usage: xenlab sim serve [--dir DIR] [--ovs auto|real|model]")
	}
	fs := newFlags(io, "sim serve", "sim serve [--dir DIR] [--ovs auto|real|model]")
	dir := fs.String("dir", "", "keep the host's state in `DIR` across restarts (default: a temporary directory, removed on exit)")
	ovsMode := fs.String("ovs", "auto", "Open vSwitch per host: real (ovsdb-server + ovs-vswitchd), model, or auto")
	isolation := fs.String("isolation", "auto", "how host commands see their files: mountns (root), paths, or auto")
	quiet := fs.Bool("quiet", false, "do not log connections and plugin runs on stderr")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("sim serve takes no arguments (got %q)", pos)
	}
	if err := oneOf("ovs", *ovsMode, "auto", "real", "model"); err != nil {
		return err
	}
	if err := oneOf("isolation", *isolation, "auto", "mountns", "paths"); err != nil {
		return err
	}
	if *dir != "" {
		if *dir, err = filepath.Abs(*dir); err != nil {
			return err
		}
	}
	logger := log.New(io.Err, "sim: ", log.LstdFlags)
	logf := logger.Printf
	if *quiet {
		logf = func(string, ...any) {}
	}
	h, err := sim.Start(ctx, sim.Options{Dir: *dir, OVS: ovs.Mode(*ovsMode),
		Isolation: sshd.Isolation(*isolation), Logf: logf})
	if err != nil {
		return fmt.Errorf("starting the simulated host: %w", err)
	}
	if err := json.NewEncoder(io.Out).Encode(h.Endpoints()); err != nil {
		h.Close()
		return err
	}
	<-ctx.Done()
	logger.Printf("stopping")
	return h.Close()
}
