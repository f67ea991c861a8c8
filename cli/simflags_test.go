package cli

import (
	"io"
	"testing"

	"xenlab/hosts/sim/xapid"
)

// TestSimServeWaitsAsXapi: sim serve refuses a wrong password after
// xapi's 5 s unless told otherwise, and a negative delay is refused.
func TestSimServeWaitsAsXapi(t *testing.T) {
	c := newSimServe(IO{Out: io.Discard, Err: io.Discard})
	f := c.Flags().Lookup("auth-fail-delay")
	if f == nil || f.DefValue != xapid.RealAuthFailDelay.String() {
		t.Fatalf("--auth-fail-delay default %v, want %v", f, xapid.RealAuthFailDelay)
	}
	if code, _, stderr := run(t, "", false, "sim", "serve", "--auth-fail-delay", "-1s"); code != ExitUsage {
		t.Fatalf("a negative delay: exit %d: %s", code, stderr)
	}
}
