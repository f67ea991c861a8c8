package cli

import (
	"context"
	"fmt"
)

// runValidate checks a lab file and reports its diagnostics: exit 0 when it
// is good, 2 when it is not.
func runValidate(ctx context.Context, io IO, args []string) error {
	var lab labFlags
	fs := newFlags(io, "validate", "validate [-f lab.hcl]")
	fs.StringVar(&lab.file, "f", "lab.hcl", "the lab file")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("validate takes no arguments (got %q); name the file with -f", pos)
	}
	cfg, err := loadLab(lab.file)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%s: ok, lab %q, %d host(s)\n", lab.file, cfg.Lab, len(cfg.Hosts))
	return nil
}
