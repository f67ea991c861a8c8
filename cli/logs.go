package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"github.com/spf13/cobra"

	"xenlab/collect"
	"xenlab/hosts/xapi"
	"xenlab/provision"
)

// newLogs is `xenlab logs DIR`: collect each host's dom0 and domU logs, its
// switches and the lab's xapi objects into DIR/<lab>/<host>/, as a failed
// run does into --log-dir.
func newLogs(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "logs DIR",
		Short: "collect dom0 and domU logs into DIR/<lab>/<host>/",
		Args:  args(1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			return l.scrub(collectLogs(c.Context(), io, l, nil, args[0], nil, collect.Options{}))
		},
	}
	lab.register(c)
	return c
}

// collectLogs collects the logs of the hosts (all when only is nil) under
// base. It returns an error naming each host where something could not be
// collected (its MANIFEST says what); rep is the failed run, or nil.
func collectLogs(ctx context.Context, io IO, l *openedLab, rep *provision.Report, base string, only func(host string) bool, opts collect.Options) error {
	var errs []error
	for _, h := range l.hosts {
		if only != nil && !only(h.Name()) {
			continue
		}
		dir := collect.HostDir(base, l.cfg.Lab, h.Name())
		res, err := collect.Host(ctx, l.cfg, h, rep, dir, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", h.Name(), err))
			continue
		}
		fmt.Fprintf(io.Err, "host %s: logs in %s (%d files, %d bytes)\n", h.Name(), dir, len(res.Files), res.Bytes)
		if len(res.Errors) > 0 {
			errs = append(errs, fmt.Errorf("host %s: %d part(s) not collected (see %s); the first: %s", h.Name(),
				len(res.Errors), filepath.Join(dir, collect.ManifestName), res.Errors[0]))
		}
	}
	return errors.Join(errs...)
}

// collectOnFailure collects, into --log-dir, the logs of the hosts where a
// step of the run failed. It never changes the run's outcome (what went
// wrong is only printed), is not done for an interrupted run, and has its
// own time limit: collect.DefaultTimeout, or the step time limit when
// shorter.
func collectOnFailure(ctx context.Context, io IO, l *openedLab, rep *provision.Report, steps *collect.StepLog) {
	failed := failedHosts(rep)
	if len(failed) == 0 || l.flags.logDir == "" {
		return
	}
	if ctx.Err() != nil {
		fmt.Fprintf(io.Err, "logs not collected: the run was interrupted (xenlab logs collects them)\n")
		return
	}
	fleet := len(l.hosts) > 1
	only := func(host string) bool { return !fleet || failed[host] }
	opts := collect.Options{Timeout: min(collect.DefaultTimeout, l.flags.timeout(l.cfg)), Steps: steps}
	var errs []error
	for _, h := range l.hosts {
		if !only(h.Name()) {
			continue
		}
		o := opts
		o.Unreachable = unreachable(rep, h.Name(), fleet)
		if err := collectLogs(ctx, io, l, rep, l.flags.logDir, func(n string) bool { return n == h.Name() }, o); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(io.Err, "collecting logs: %v\n", l.scrub(err))
	}
}

// failedHosts are the hosts (by the results' Host: "" for one host's run)
// where a step of the run or of its cleanup failed.
func failedHosts(rep *provision.Report) map[string]bool {
	out := map[string]bool{}
	for _, results := range [][]provision.StepResult{rep.Steps, rep.Cleanup} {
		for _, r := range results {
			if r.State == provision.StateFailed {
				out[r.Host] = true
			}
		}
	}
	return out
}

// unreachable is the error of a failed step of host that says its xapi
// could not be reached at all (no HTTP answer: refused, no route, a
// timeout), or nil: the logs of such a host are not collected from it.
func unreachable(rep *provision.Report, host string, fleet bool) error {
	for _, r := range append(append([]provision.StepResult{}, rep.Steps...), rep.Cleanup...) {
		if r.State != provision.StateFailed || (fleet && r.Host != host) {
			continue
		}
		var te *xapi.TransportError
		var ne net.Error
		var to *xapi.TimeoutError
		if errors.As(r.Err, &te) && te.StatusCode == 0 &&
			(errors.As(te.Err, &ne) || errors.As(te.Err, &to) && (to.Phase == "connect" || to.Phase == "login")) {
			return r.Err
		}
	}
	return nil
}
