package cli

import (
	"context"
	"fmt"
	"os"

	"xenlab/localrc"
)

// runLocalrc handles `xenlab localrc import FILE [-o lab.hcl]`: a classic
// devstack localrc (bash) becomes an equivalent lab file, on stdout unless -o
// names a file; what could not be translated is warned about on stderr.
func runLocalrc(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(io.Err, "Usage: xenlab localrc import FILE [-o lab.hcl]")
			return nil
		}
		return usagef("usage: xenlab localrc import FILE [-o lab.hcl]")
	}
	fs := newFlags(io, "localrc import", "localrc import FILE [-o lab.hcl]")
	out := fs.String("o", "", "write the lab file to `FILE` instead of stdout (refuses to overwrite)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("localrc import takes one localrc file, got %d arguments", len(pos))
	}
	src, err := os.ReadFile(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	hcl, warnings, err := localrc.Import(pos[0], src)
	for _, w := range warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	if err != nil {
		return usagef("%v", err)
	}
	if *out == "" {
		_, err = io.Out.Write(hcl)
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return usagef("%v", err)
	}
	if _, err := f.Write(hcl); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(io.Err, "wrote %s\n", *out)
	return nil
}
