package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// newVersion is `xenlab version`: the module's build information, from
// runtime/debug.ReadBuildInfo.
func newVersion(io IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print xenlab's version and build information",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			bi, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("this binary carries no build information")
			}
			_, err := fmt.Fprint(io.Out, versionText(bi))
			return err
		},
	}
}

// versionText is the module's path and version, the Go version, the
// version control revision it was built from (with "modified" when the
// tree had changes), the target, and the modules it was built with.
func versionText(bi *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "xenlab %s\n", bi.Main.Version)
	fmt.Fprintf(&b, "  module    %s\n", bi.Main.Path)
	fmt.Fprintf(&b, "  go        %s\n", bi.GoVersion)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "  revision  %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "  committed %s\n", t)
	}
	if settings["GOOS"] != "" {
		fmt.Fprintf(&b, "  platform  %s/%s\n", settings["GOOS"], settings["GOARCH"])
	}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v += " => " + d.Replace.Path + " " + d.Replace.Version
		}
		fmt.Fprintf(&b, "  dep       %s %s\n", d.Path, v)
	}
	return b.String()
}
