package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newValidate is `xenlab validate`: check the lab file and report its
// diagnostics: exit 0 when it is good, 2 when it is not.
func newValidate(io IO) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "validate",
		Short: "check the lab file; errors as file:line:col diagnostics",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadLab(c.Context(), io, file)
			if err != nil {
				return err
			}
			name := file
			if file == "-" {
				name = stdinName
			}
			fmt.Fprintf(io.Out, "%s: ok, lab %q, %d host(s)\n", name, cfg.Lab, len(cfg.Hosts))
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "lab.hcl", "the lab file (- reads it from stdin)")
	return c
}
