package cli

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points XDG_STATE_HOME at a directory of the tests' own: no test
// of this package reads or starts the built-in lab of the user who runs
// it (cli/keep.go).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xenlab-cli-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
