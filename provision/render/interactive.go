package render

import (
	"os"

	"golang.org/x/term"

	"xenlab/provision"
)

// Interactive reports whether the animated terminal view may be used: stdout
// and stderr are both terminals (so neither is being captured into a log),
// and the environment does not ask for plain output — NO_COLOR set to any
// value (https://no-color.org), TERM=dumb, or CI set (as CI systems do; some
// give jobs a fake terminal).
func Interactive(stdout, stderr *os.File) bool {
	return interactive(isTerminal(stdout), isTerminal(stderr), os.LookupEnv)
}

func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

func interactive(stdoutTTY, stderrTTY bool, lookupEnv func(string) (string, bool)) bool {
	if !stdoutTTY || !stderrTTY {
		return false
	}
	if _, set := lookupEnv("NO_COLOR"); set {
		return false
	}
	if v, _ := lookupEnv("TERM"); v == "dumb" {
		return false
	}
	if v, set := lookupEnv("CI"); set && v != "false" && v != "0" {
		return false
	}
	return true
}

// Select returns the view for a run: the progress bar on stderr when
// [Interactive], else plain timestamped lines on stdout. Both end with the
// timing table.
func Select(stdout, stderr *os.File) provision.Renderer {
	if Interactive(stdout, stderr) {
		return NewTTY(stderr)
	}
	return NewPlain(stdout)
}
