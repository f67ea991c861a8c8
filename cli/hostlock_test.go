package cli

import (
	"strings"
	"testing"
)

// TestLockFlags: --lock-expiry is checked before a host is touched (the
// host's clock counts whole seconds), and only the run commands have the
// lock's flags: read-only commands take no lock.
func TestLockFlags(t *testing.T) {
	good := writeFile(t, t.TempDir(), "good.hcl", goodLab)
	for _, c := range []struct {
		args   []string
		code   int
		errHas string
	}{
		{[]string{"up", "-f", good, "--lock-expiry", "1s"}, ExitUsage, "--lock-expiry must be 2s or more"},
		{[]string{"down", "-f", good, "-y", "--lock-expiry", "0s"}, ExitUsage, "--lock-expiry must be 2s or more"},
		{[]string{"plan", "-f", good, "--no-wait"}, ExitUsage, "unknown flag: --no-wait"},
		{[]string{"status", "-f", good, "--lock-expiry", "1m"}, ExitUsage, "unknown flag: --lock-expiry"},
	} {
		code, _, stderr := run(t, "", false, c.args...)
		if code != c.code || !strings.Contains(stderr, c.errHas) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.errHas)
		}
	}
}
