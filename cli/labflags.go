package cli

import (
	"flag"
	"time"

	"xenlab/provision"
	"xenlab/provision/render"
)

// labFlags are the flags every command that acts on a lab shares.
type labFlags struct {
	file              string
	json              bool
	junit             string
	logDir            string
	apply             bool // the flags of a run were registered
	parallel          int
	onError           string
	stepTimeout       time.Duration
	acceptNewHostKeys bool
}

func (l *labFlags) register(fs *flag.FlagSet, withApply bool) {
	fs.StringVar(&l.file, "f", "lab.hcl", "the lab file")
	fs.BoolVar(&l.json, "json", false, "print events as JSON lines instead of a progress view")
	fs.BoolVar(&l.acceptNewHostKeys, "accept-new-host-keys", false,
		"trust and record SSH host keys seen for the first time (a changed key is always refused)")
	l.apply = withApply
	if !withApply {
		return
	}
	fs.StringVar(&l.junit, "junit", "", "also write a JUnit XML report (a testcase per step) to `FILE`")
	fs.StringVar(&l.logDir, "log-dir", "", "collect dom0 and domU logs into `DIR` on failure")
	fs.IntVar(&l.parallel, "parallel", 4, "how many independent steps may run at once")
	fs.StringVar(&l.onError, "on-error", "retain", "on failure: retain (leave the host for debugging) or cleanup (undo what this run created)")
	fs.DurationVar(&l.stepTimeout, "step-timeout", 20*time.Minute, "default time limit of one step")
}

// check validates the flags register registered.
func (l *labFlags) check() error {
	if !l.apply {
		return nil
	}
	if err := oneOf("on-error", l.onError, "retain", "cleanup"); err != nil {
		return err
	}
	if l.parallel < 1 {
		return usagef("--parallel must be 1 or more, not %d", l.parallel)
	}
	return nil
}

// defaultCloseTimeout bounds logging out of xapi and closing SSH at exit.
const defaultCloseTimeout = 10 * time.Second

// renderer picks how a run is shown: JSON lines with --json; a progress
// bar on stderr when io.Progress says a person watches a terminal; plain
// timestamped lines otherwise. A JUnit report is written besides when
// --junit names a file.
func (l *labFlags) renderer(io IO) provision.Renderer {
	var rs []provision.Renderer
	switch {
	case l.json:
		rs = append(rs, render.NewJSON(io.Out))
	case io.Progress:
		rs = append(rs, render.NewTTY(io.Err))
	default:
		rs = append(rs, render.NewPlain(io.Out))
	}
	if l.junit != "" {
		rs = append(rs, render.NewJUnit(l.junit))
	}
	return provision.Multi(rs...)
}
