package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

const simUsage = "usage: xenlab sim serve [--dir DIR] [--version 6.2|7.1|8.2] [--ovs auto|real|model] | sim list | sim stop [NAME...]"

// newSim is `xenlab sim`, the parent of `sim serve`.
func newSim(io IO) *cobra.Command {
	c := &cobra.Command{
		Use:                        "sim",
		Short:                      "`sim serve`: run a simulated XenServer host; `sim list`, `sim stop`: the kept ones",
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return usagef(simUsage)
		},
	}
	c.AddCommand(newSimServe(io), newSimList(io), newSimStop(io))
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
	var authFailDelay time.Duration
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
			if authFailDelay < 0 {
				return usagef("--auth-fail-delay must not be negative")
			}
			h, err := sim.Start(ctx, sim.Options{Dir: dir, Version: version, OVS: ovs.Mode(ovsMode),
				Isolation: sshd.Isolation(isolation), Logf: logf, AuthFailDelay: authFailDelay})
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
	f.DurationVar(&authFailDelay, "auth-fail-delay", xapid.RealAuthFailDelay,
		"how long xapi waits before refusing a wrong password, as xapi's 5 s (0 for tests)")
	return c
}

// newSimList is `xenlab sim list`: the kept simulated hosts under the
// state directory (those `xenlab up` started without a lab file), running
// or stopped.
func newSimList(io IO) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list the simulated hosts xenlab up keeps (under $XDG_STATE_HOME/xenlab)",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			names, err := keptNames()
			if err != nil {
				return err
			}
			if len(names) == 0 {
				home, _ := stateHome()
				fmt.Fprintf(io.Err, "no simulated host is kept in %s (`xenlab up` without a lab file starts one)\n", home)
				return nil
			}
			w := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSTATE\tPID\tXAPI\tDIR")
			for _, n := range names {
				rec, st, stale, err := findKept(n)
				if stale != "" {
					fmt.Fprintf(io.Err, "xenlab: %s\n", stale)
				}
				state, xapiURL := "stopped", "-"
				switch {
				case err != nil:
					state = "not answering"
				case st == keptRunning:
					state = "running"
				}
				if rec != nil {
					xapiURL = rec.Endpoints.XAPIURL
				}
				dir, _ := keptDir(n)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n, state, pidString(rec), xapiURL, dir)
			}
			return w.Flush()
		},
	}
}

// newSimStop is `xenlab sim stop [NAME...]`: stop kept simulated hosts
// (default: the built-in lab's), keeping their state directories, so that
// the next `xenlab up` starts the host again with the lab as it was.
// `xenlab down` removes the lab and the directory.
func newSimStop(io IO) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "stop [NAME...]",
		Short: "stop kept simulated hosts (default: the built-in lab's); their state stays for the next up",
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, names []string) error {
			if all {
				var err error
				if names, err = keptNames(); err != nil {
					return err
				}
			} else if len(names) == 0 {
				names = []string{builtinName}
			}
			var errs []error
			for _, n := range names {
				if strings.ContainsAny(n, "/\\") || n == "." || n == ".." {
					return usagef("%q is not the name of a kept simulated host (see xenlab sim list)", n)
				}
				rec, st, stale, err := findKept(n)
				if stale != "" {
					fmt.Fprintf(io.Err, "xenlab: %s\n", stale)
				}
				switch {
				case rec != nil:
					if serr := rec.stop(); serr != nil {
						errs = append(errs, serr)
						continue
					}
					fmt.Fprintf(io.Err, "stopped the simulated host %s (pid %d); its state stays in %s for the next up (`xenlab down` removes it)\n",
						n, rec.PID, rec.Dir)
				case err != nil:
					errs = append(errs, err)
				case st == keptNone:
					if !all {
						errs = append(errs, fmt.Errorf("no simulated host %s is kept (see xenlab sim list)", n))
					}
				default:
					fmt.Fprintf(io.Err, "the simulated host %s was not running\n", n)
				}
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVar(&all, "all", false, "stop every kept simulated host")
	return c
}
