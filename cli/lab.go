package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"xenlab/collect"
	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/localrc"
	"xenlab/secret"
	"xenlab/steps"
)

// openedLab is a command's checked flags, its lab file, its hosts (those
// --host and --shard select; not dialled until a step uses them) and what must be stopped at the end.
type openedLab struct {
	flags  *labFlags
	cfg    *localrc.Config
	hosts  []*hosts.Host
	stop   func()    // stops the simulated host plan started, if it did
	kept   *keptHost // the kept built-in host the lab is on, if it is
	closed bool
	locks  *hostLocks // a run's host locks (nil for read-only commands)
}

// openLab checks the command's flags, then reads its lab file. Without -f
// and without a lab file here, the lab is the built-in one, on the kept
// simulated host (keep.go): `up` starts it, or finds it running; the
// other commands act on it when it runs and say how to bring it up when
// it does not. `plan` (builtin) without a kept host plans on a simulated
// host of its own, started here and stopped by close.
func openLab(ctx context.Context, io IO, c *cobra.Command, l *labFlags, builtin bool) (*openedLab, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	o := &openedLab{flags: l, stop: func() {}}
	file := l.file
	if !c.Flags().Changed("file") && !fileExists(file) {
		if c.Name() == "up" { // one up at a time finds or starts the kept host
			unlock, err := lockKept(builtinName)
			if err != nil {
				return nil, err
			}
			defer unlock()
		}
		rec, st, stale, err := findKept(builtinName)
		if stale != "" {
			fmt.Fprintf(io.Err, "xenlab: %s\n", stale)
		}
		if err != nil {
			return nil, err
		}
		switch {
		case rec != nil:
			if c.Name() == "up" {
				fmt.Fprintf(io.Err, "no %s here: the lab is on the built-in simulated XenServer host kept in %s (pid %d, xapi %s)\n",
					file, rec.Dir, rec.PID, rec.Endpoints.XAPIURL)
			}
			file, o.kept = rec.Endpoints.LabFile, rec
		case c.Name() == "up":
			if rec, err = startKept(ctx, builtinName); err != nil {
				return nil, err
			}
			fmt.Fprintf(io.Err, "no %s here: started the built-in simulated XenServer host (xapi %s, Open vSwitch %s), kept running in %s "+
				"(pid %d) for status, ssh, reset and the next up; `xenlab down` removes the lab and stops it\n",
				file, rec.Endpoints.XAPIURL, rec.Endpoints.OVS, rec.Dir, rec.PID)
			file, o.kept = rec.Endpoints.LabFile, rec
		case builtin:
			h, err := sim.Start(ctx, sim.Options{Logf: func(string, ...any) {}})
			if err != nil {
				return nil, fmt.Errorf("starting a simulated host to plan on: %w", err)
			}
			ep := h.Endpoints()
			fmt.Fprintf(io.Err, "no %s here and no lab up on the built-in simulated host: planning on a fresh simulated XenServer host "+
				"(xapi %s), stopped at the end (`xenlab up` starts one that stays)\n", file, ep.XAPIURL)
			file = ep.LabFile
			o.stop = func() { h.Close() }
		default:
			return nil, labNotUp{file: file, state: st, dir: keptDirOrEmpty(builtinName)}
		}
	}
	if o.kept != nil && l.fs.Lookup("log-dir") != nil && !l.fs.Changed("log-dir") {
		l.logDir = filepath.Join(o.kept.Dir, keptLogDir) // nothing into the working directory
	}
	cfg, err := loadLab(ctx, io, file)
	if err != nil {
		o.stop()
		return nil, err
	}
	o.cfg = cfg
	selected, err := l.selectHosts(cfg)
	if err != nil {
		o.stop()
		return nil, err
	}
	hopts := hosts.Options{AcceptNewHostKeys: l.acceptNewHostKeys}
	if l.run {
		o.locks = &hostLocks{io: io, lab: cfg.Lab, command: l.command, noWait: l.noWait, expiry: l.lockExpiry}
		hopts.Gate = o.locks.gate
	}
	for _, h := range selected {
		o.hosts = append(o.hosts, hosts.New(h, hopts))
	}
	return o, nil
}

// secrets are the lab's secrets, for secret.Scrub's last resort: the
// same set collected logs and the run's views are scrubbed of.
func (o *openedLab) secrets() []secret.Secret { return collect.Secrets(o.cfg) }

// scrubbed is a command's error with the lab's secrets scrubbed from its
// text as a last resort (secrets are never formatted into errors in the
// first place; secret.Scrub says what it can and cannot catch). errors.Is
// and As still see the error it wraps, so exit codes are unchanged.
type scrubbed struct {
	err     error
	secrets []secret.Secret
}

func (s scrubbed) Error() string { return secret.Scrub(s.err.Error(), s.secrets...) }
func (s scrubbed) Unwrap() error { return s.err }

// scrub wraps err (if any) in scrubbed.
func (o *openedLab) scrub(err error) error {
	if err == nil {
		return nil
	}
	return scrubbed{err: err, secrets: o.secrets()}
}

// close releases the host locks, logs out of the hosts and stops the
// built-in simulated host.
func (o *openedLab) close() {
	if o.closed {
		return
	}
	o.closed = true
	if o.locks != nil {
		o.locks.release()
	}
	closeHosts(o.hosts)
	o.stop()
}

// stdinName names the lab file or localrc read from stdin in diagnostics.
const stdinName = "<stdin>"

// loadLab reads and validates a lab file ("-": stdin). Config errors come
// back as diagnostics that render with file:line:col; a path that is no
// lab file at all is a usage error.
func loadLab(ctx context.Context, io IO, path string) (*localrc.Config, error) {
	var cfg *localrc.Config
	var err error
	if path == "-" {
		src, rerr := readAll(ctx, io.In, localrc.MaxLabFileSize)
		switch {
		case rerr != nil && ctx.Err() != nil:
			return nil, rerr // interrupted: the exit code says so
		case rerr != nil:
			return nil, usagef("reading the lab file from stdin: %v", rerr) // a lab-file error (exit 2)
		}
		cfg, err = localrc.Parse(stdinName, src)
	} else {
		fi, serr := os.Stat(path)
		switch {
		case errors.Is(serr, os.ErrNotExist):
			return nil, usagef("lab file %s does not exist (give one with -f, or write one: see docs/configuration.md)", path)
		case serr == nil && fi.IsDir():
			return nil, usagef("%s is a directory, not a lab file", path)
		}
		cfg, err = localrc.Load(path)
	}
	var de *localrc.DiagError
	if errors.As(err, &de) {
		return nil, err // report renders the diagnostics
	}
	if err != nil {
		return nil, fmt.Errorf("reading lab file: %w", err)
	}
	// Warnings (values that load but cannot be right) go to stderr, one
	// file:line:col line each, and do not stop the command.
	for _, w := range cfg.Warnings {
		fmt.Fprintln(io.Err, w)
	}
	return cfg, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// labNotUp is the error of a command that needs a lab when there is no lab
// file here and the built-in lab is not up: it says how to bring it up.
type labNotUp struct {
	file  string
	state keptState
	dir   string
}

func (e labNotUp) Error() string {
	if e.state == keptStopped {
		return fmt.Sprintf("the lab is not up: no %s here, and the built-in simulated host is stopped (its state is kept in %s); "+
			"`xenlab up` starts it and brings the lab up (or give a lab file with -f)", e.file, e.dir)
	}
	return fmt.Sprintf("the lab is not up: no %s here, and no lab on the built-in simulated host; `xenlab up` brings one up "+
		"(or give a lab file with -f)", e.file)
}

// keptDirOrEmpty is keptDir, or "" when there is no state directory.
func keptDirOrEmpty(name string) string {
	d, _ := keptDir(name)
	return d
}

// requireUp fails when the lab is up on none of its selected hosts: every
// host could be read and holds no object of the lab (after down, or before
// the first up). It says how to bring the lab up. A host that cannot be
// read does not decide: the command goes on and reports it.
func (o *openedLab) requireUp(ctx context.Context, c *cobra.Command) error {
	for _, h := range o.hosts {
		remove, _, err := steps.Removal(ctx, o.cfg, h, false) // the cached template alone is no lab
		if err != nil || len(remove) > 0 {
			return nil
		}
	}
	up := "xenlab up"
	if c.Flags().Changed("file") {
		up += " -f " + shellWord(o.flags.file)
	}
	where := "its host"
	if len(o.hosts) > 1 {
		where = fmt.Sprintf("any of its %d hosts", len(o.hosts))
	}
	return labNotUpHere{fmt.Sprintf("the lab is not up: lab %q has nothing on %s (never brought up, or removed by down); `%s` brings it up",
		o.cfg.Lab, where, up)}
}

// labNotUpHere is requireUp's error (exit 1).
type labNotUpHere struct{ msg string }

func (e labNotUpHere) Error() string { return e.msg }
