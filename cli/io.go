package cli

import (
	"io"
	"os"

	"golang.org/x/term"

	"xenlab/provision/render"
)

// IO is where a command reads and writes. Tests pass buffers; main passes
// the process's standard streams.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Terminal is true when stdin, stdout and stderr are all terminals: a
	// person is watching and can answer a question.
	Terminal bool
	// Color is true when diagnostics may use colour and source snippets.
	Color bool
	// Width of the terminal in columns (0 when unknown).
	Width uint
	// Progress is true when a run may draw a progress bar: stdout and
	// stderr are terminals and NO_COLOR, TERM=dumb and CI do not say
	// otherwise (render.Interactive decides).
	Progress bool
}

// StdIO returns the process's standard streams, with Terminal and Color
// decided the way kind and cli/cli do: only when the streams are terminals,
// and no colour when NO_COLOR is set or TERM is dumb.
func StdIO() IO {
	tty := isTerminal(os.Stdin) && isTerminal(os.Stdout) && isTerminal(os.Stderr)
	io := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Terminal: tty,
		Progress: render.Interactive(os.Stdout, os.Stderr)}
	if isTerminal(os.Stderr) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" {
		io.Color = true
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && w > 0 {
			io.Width = uint(w)
		}
	}
	return io
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
