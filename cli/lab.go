package cli

import (
	"errors"
	"fmt"
	"os"

	"xenlab/localrc"
)

// loadLab reads and validates a lab file. Config errors come back as
// diagnostics that render with file:line:col.
func loadLab(path string) (*localrc.Config, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, usagef("lab file %s does not exist (give one with -f, or write one: see docs/configuration.md)", path)
	}
	cfg, err := localrc.Load(path)
	var de *localrc.DiagError
	if errors.As(err, &de) {
		return nil, err // report renders the diagnostics
	}
	if err != nil {
		return nil, fmt.Errorf("reading lab file: %w", err)
	}
	return cfg, nil
}
