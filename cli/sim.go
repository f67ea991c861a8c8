package cli

import (
	"encoding/json"
	"fmt"
	"log"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

const simUsage = "usage: xenlab sim serve [--dir DIR] [--version 6.2|7.1|8.2] [--ovs auto|real|model]"

// newSim is `xenlab sim`, the parent of `sim serve`.
func newSim(io IO) *cobra.Command {
	c := &cobra.Command{
		Use:                        "sim",
		Short:                      "`sim serve`: run a simulated XenServer host",
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return usagef(simUsage)
		},
	}
	c.AddCommand(newSimServe(io))
	return c
}

// newSimServe is `xenlab sim serve`: a simulated XenServer host on
// loopback until SIGINT or SIGTERM, which stop it (exit 0: that is how it
// ends). When ready it prints one JSON line with its endpoints and where
// its credentials are, and writes DIR/lab.hcl, which `xenlab up -f` uses
// as it is.
func newSimServe(io IO) *cobra.Command {
	var dir, ovsMode, isolation, version string
	var quiet bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "run a simulated XenServer host (on a network of its own as root, else on loopback) until SIGINT or SIGTERM",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := oneOf("ovs", ovsMode, "auto", "real", "model"); err != nil {
				return err
			}
			if err := oneOf("isolation", isolation, "auto", "mountns", "paths"); err != nil {
				return err
			}
			if version != "" {
				if err := oneOf("version", version, xapid.ReleaseNames()...); err != nil {
					return err
				}
			}
			if dir != "" {
				var err error
				if dir, err = filepath.Abs(dir); err != nil {
					return err
				}
			}
			logger := log.New(io.Err, "sim: ", log.LstdFlags)
			logf := logger.Printf
			if quiet {
				logf = func(string, ...any) {}
			}
			ctx := c.Context()
			h, err := sim.Start(ctx, sim.Options{Dir: dir, Version: version, OVS: ovs.Mode(ovsMode),
				Isolation: sshd.Isolation(isolation), Logf: logf})
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
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "dir", "", "keep the host's state in `DIR` across restarts (default: a temporary directory, removed on exit)")
	f.StringVar(&version, "version", "", "the XenServer release the host poses as: "+strings.Join(xapid.ReleaseNames(), ", ")+" (default 6.2)")
	f.StringVar(&ovsMode, "ovs", "auto", "Open vSwitch per host: real (ovsdb-server + ovs-vswitchd), model, or auto")
	f.StringVar(&isolation, "isolation", "auto", "how host commands see their files: mountns (root), paths, or auto")
	f.BoolVar(&quiet, "quiet", false, "do not log connections and plugin runs on stderr")
	return c
}
