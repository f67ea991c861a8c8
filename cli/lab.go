package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"xenlab/collect"
	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/localrc"
	"xenlab/secret"
)

// openedLab is a command's checked flags, its lab file, its hosts (those
// --host and --shard select; not dialled until a step uses them) and what must be stopped at the end.
type openedLab struct {
	flags *labFlags
	cfg   *localrc.Config
	hosts []*hosts.Host
	stop  func()     // stops the built-in simulated host, if one was started
	locks *hostLocks // a run's host locks (nil for read-only commands)
}

// openLab checks the command's flags, then reads its lab file. For `up`
// and `plan` (builtin) without a lab file here and without -f, the lab is
// the built-in simulated host, started here and stopped by close.
func openLab(ctx context.Context, io IO, c *cobra.Command, l *labFlags, builtin bool) (*openedLab, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	o := &openedLab{flags: l, stop: func() {}}
	file := l.file
	if builtin && !c.Flags().Changed("file") && !fileExists(file) {
		h, err := sim.Start(ctx, sim.Options{Logf: func(string, ...any) {}})
		if err != nil {
			return nil, fmt.Errorf("starting the built-in simulated host: %w", err)
		}
		ep := h.Endpoints()
		fmt.Fprintf(io.Err, "no %s here: using the built-in simulated XenServer host (xapi %s, Open vSwitch %s); "+
			"it lasts as long as this command (to keep one: xenlab sim serve --dir DIR, then -f DIR/lab.hcl)\n",
			file, ep.XAPIURL, ep.OVS)
		file = ep.LabFile
		o.stop = func() { h.Close() }
	}
	if !builtin && !c.Flags().Changed("file") && !fileExists(file) {
		return nil, usagef("no %s here (give one with -f); the built-in simulated host lasts only as long as "+
			"`xenlab up` or `plan`: to keep one between commands, run `xenlab sim serve --dir DIR` and pass -f DIR/lab.hcl", file)
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
