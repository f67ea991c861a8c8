package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"xenlab/collect"
	"xenlab/hosts/lock"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/provision/render"
)

// labFlags are the flags the commands that act on a lab share. Every one of
// them is checked by check before a host is touched.
type labFlags struct {
	fs                *pflag.FlagSet
	file              string
	json              bool
	acceptNewHostKeys bool
	hostNames         []string // --host: only these hosts of the lab
	shard             string   // --shard i/n: this runner's part of them

	// The flags of a run (registerRun): up, reset, down.
	run         bool
	command     string
	junit       string
	parallel    int
	maxHosts    int
	stepTimeout time.Duration
	logDir      string
	noWait      bool          // fail at once when a host is locked
	lockExpiry  time.Duration // a host lock's life unrenewed

	// up only (registerOnError).
	onError string
}

// register adds -f/--file, --json and --accept-new-host-keys to c.
func (l *labFlags) register(c *cobra.Command) {
	l.fs = c.Flags()
	l.fs.StringVarP(&l.file, "file", "f", "lab.hcl", "the lab file (- reads it from stdin)")
	l.fs.BoolVar(&l.json, "json", false, "print JSON lines instead of text")
	l.fs.BoolVar(&l.acceptNewHostKeys, "accept-new-host-keys", false,
		"trust and record SSH host keys seen for the first time (a changed key is always refused)")
	l.fs.StringArrayVar(&l.hostNames, "host", nil, "act on this host of the lab only (repeatable; default: every host)")
	l.fs.StringVar(&l.shard, "shard", "", "act on part `i/n` of the lab's hosts: every n-th in name order from the i-th (for CI matrices)")
}

// registerRun adds the flags of a run: --junit, --parallel, --max-hosts,
// --step-timeout.
func (l *labFlags) registerRun(c *cobra.Command) {
	l.run = true
	f := c.Flags()
	f.StringVar(&l.junit, "junit", "", "also write a JUnit XML report (a testcase per step) to `FILE`")
	f.IntVar(&l.parallel, "parallel", provision.DefaultParallel, "how many independent steps of one host may run at once")
	f.IntVar(&l.maxHosts, "max-hosts", 0, "how many hosts may be at work at once (default: all)")
	f.DurationVar(&l.stepTimeout, "step-timeout", 0,
		"time limit of one step (default: the lab file's timeouts.step, itself 20m by default)")
	f.StringVar(&l.logDir, "log-dir", collect.DefaultBase,
		"when a step fails, collect the hosts' logs into `DIR`/<lab>/<host>/ (\"\" collects none)")
	l.command = c.Name()
	f.BoolVar(&l.noWait, "no-wait", false, "fail at once (exit 1) when another run holds a host's lock, instead of waiting")
	f.DurationVar(&l.lockExpiry, "lock-expiry", lock.DefaultExpiry,
		"how long a host's lock outlives a run that died (renewed every third of it while the run lives)")
}

// registerOnError adds --on-error.
func (l *labFlags) registerOnError(c *cobra.Command) {
	l.onError = string(provision.Retain)
	c.Flags().StringVar(&l.onError, "on-error", l.onError,
		"on failure: retain (leave the host for debugging) or cleanup (undo what this run created)")
}

// check validates every flag, before the lab file is read or a host touched.
func (l *labFlags) check() error {
	for _, h := range l.hostNames {
		if strings.TrimSpace(h) == "" {
			return usagef("--host needs a host name of the lab file")
		}
	}
	if l.shard != "" {
		if _, err := parseShard(l.shard); err != nil {
			return err
		}
	}
	if !l.run {
		return nil
	}
	if l.onError != "" {
		if err := oneOf("on-error", l.onError, "retain", "cleanup"); err != nil {
			return err
		}
	}
	if l.parallel < 1 {
		return usagef("--parallel must be 1 or more, not %d", l.parallel)
	}
	if l.maxHosts < 0 {
		return usagef("--max-hosts must be 1 or more (or 0: all), not %d", l.maxHosts)
	}
	if l.fs.Changed("step-timeout") && l.stepTimeout <= 0 {
		return usagef("--step-timeout must be positive, not %s", l.stepTimeout)
	}
	if fi, err := os.Stat(l.logDir); l.logDir != "" && err == nil && !fi.IsDir() {
		return usagef("--log-dir %s is a file; name a directory (made when logs are collected)", l.logDir)
	}
	if l.lockExpiry < lock.MinExpiry {
		return usagef("--lock-expiry must be %s or more (the host's clock counts whole seconds), not %s", lock.MinExpiry, l.lockExpiry)
	}
	if l.junit != "" {
		return checkWritable("--junit", l.junit)
	}
	return nil
}

// checkWritable makes sure a report can be written to path at the end of
// a run, so a run never does its work only to fail writing its report: the
// directory exists and takes a new file (one is made and removed), and
// path is not a directory.
func checkWritable(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("%s %s is a directory; name a file", flag, path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s %s: directory %s does not exist", flag, path, dir)
	case errors.Is(err, fs.ErrPermission):
		return usagef("%s %s: directory %s is not writable", flag, path, dir)
	case err != nil:
		return usagef("%s %s: cannot write there: %v", flag, path, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// timeout is the default time limit of one step: --step-timeout when
// given, else the lab file's timeouts.step (which has its own default).
func (l *labFlags) timeout(cfg *localrc.Config) time.Duration {
	if l.fs.Changed("step-timeout") {
		return l.stepTimeout
	}
	return cfg.Timeouts.Step
}

// display picks how a run is shown: JSON lines with --json; a progress
// bar on stderr when io.Progress says a person watches a terminal; plain
// timestamped lines otherwise.
func (l *labFlags) display(io IO) provision.Renderer {
	switch {
	case l.json:
		return render.NewJSON(io.Out)
	case io.Progress:
		return render.NewTTY(io.Err)
	default:
		return render.NewPlain(io.Out)
	}
}
