package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"xenlab/localrc"
)

const localrcUsage = "usage: xenlab localrc import FILE|- [-o lab.hcl]"

// newLocalrc is `xenlab localrc`, the parent of `localrc import`.
func newLocalrc(io IO) *cobra.Command {
	c := &cobra.Command{
		Use:                        "localrc",
		Short:                      "`localrc import FILE`: convert a devstack localrc into a lab file",
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(c, args[0])
			}
			return usagef(localrcUsage)
		},
	}
	c.AddCommand(newLocalrcImport(io))
	return c
}

// newLocalrcImport is `xenlab localrc import FILE|- [-o lab.hcl]`: a
// classic devstack localrc (bash) becomes an equivalent lab file, on
// stdout unless -o names a file; what could not be translated is warned
// about on stderr. "-" reads the localrc from stdin. -o never overwrites,
// and says so before anything else is done or printed.
func newLocalrcImport(io IO) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "import FILE|-",
		Short: "convert a devstack localrc (bash; - for stdin) into a lab file",
		Args:  args(1),
		RunE: func(c *cobra.Command, args []string) error {
			var dst *os.File
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if err != nil {
					if os.IsExist(err) {
						return usagef("-o %s exists; xenlab does not overwrite it (remove it, or name another file)", out)
					}
					return usagef("-o %s: %v", out, err)
				}
				dst = f
			}
			err := importLocalrc(c.Context(), io, args[0], dst)
			if dst != nil {
				if cerr := dst.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(out) // made by this run: leave nothing half-written
					return err
				}
				fmt.Fprintf(io.Err, "wrote %s\n", out)
			}
			return err
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the lab file to `FILE` instead of stdout (refuses to overwrite)")
	return c
}

// importLocalrc converts the localrc at path ("-": stdin) and writes the
// lab file to dst, or stdout when dst is nil. It reads a regular file (or
// stdin) of at most localrc.MaxLocalrcSize bytes: /dev/zero, a FIFO or a
// device is refused before it is read, and a stdin that blocks gives way
// to Ctrl-C.
func importLocalrc(ctx context.Context, io IO, path string, dst *os.File) error {
	var src []byte
	var err error
	name := path
	if path == "-" {
		name = stdinName
		src, err = readAll(ctx, io.In, localrc.MaxLocalrcSize)
		if err != nil && ctx.Err() != nil {
			return err // interrupted: the exit code says so
		}
		if err != nil {
			err = fmt.Errorf("reading the localrc from stdin: %w", err)
		}
	} else {
		src, err = localrc.ReadLocalrc(path)
	}
	if err != nil {
		return usagef("%v", err)
	}
	hcl, warnings, err := localrc.Import(name, src)
	for _, w := range warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	if err != nil {
		return usagef("%v", err)
	}
	if dst == nil {
		_, err = io.Out.Write(hcl)
		return err
	}
	_, err = dst.Write(hcl)
	return err
}
