package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"xenlab/provision"
)

// confirm asks a yes/no question on a terminal. Off a terminal (CI, a pipe)
// it never guesses: --yes is required. Ctrl-C while it waits for the
// answer interrupts the command (exit 130; 143 for SIGTERM), as anywhere
// else.
func confirm(ctx context.Context, io IO, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	if !io.Terminal {
		return false, usagef("not on a terminal: pass --yes to confirm")
	}
	fmt.Fprintf(io.Err, "%s [y/N] ", question)
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(io.In).ReadString('\n')
		answers <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		fmt.Fprintln(io.Err)
		return false, provision.Interrupted(ctx, "waiting for an answer")
	}
	if a.err != nil && a.line == "" {
		return false, usagef("no answer: nothing was done")
	}
	switch strings.ToLower(strings.TrimSpace(a.line)) {
	case "y", "yes":
		return true, nil
	}
	fmt.Fprintln(io.Err, "Nothing was done.")
	return false, nil
}
