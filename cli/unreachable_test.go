package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnreachableHostSaysItOnce (issue 18): an up whose host does not
// answer (nothing listens on its xapi port) fails in preflight with that
// error, said once; its logs hold xenlab's record of the run, and the
// MANIFEST says the rest was not collected because the host could not be
// reached, without dialling it again.
func TestUnreachableHostSaysItOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	dir := t.TempDir()
	lab := writeFile(t, dir, "lab.hcl", `lab = "ci"
host "xs1" {
  xapi_url      = "https://`+addr+`"
  xapi_password = env("XENLAB_TEST_UNSET_PASSWORD", "from-default")
}
`)
	logs := filepath.Join(dir, "logs")
	code, _, stderr := run(t, "", false, "up", "-f", lab, "--log-dir", logs)
	if code != ExitFailed || strings.Count(stderr, "connection refused") != 1 || !strings.Contains(stderr, "step preflight") {
		t.Fatalf("exit %d, want 1 with the error once; stderr:\n%s", code, stderr)
	}
	manifest, err := os.ReadFile(filepath.Join(logs, "ci", "xs1", "MANIFEST"))
	if err != nil || !strings.Contains(string(manifest), "not collected: the run could not reach the host") ||
		strings.Contains(string(manifest), "connection refused") {
		t.Fatalf("MANIFEST (%v):\n%s", err, manifest)
	}
}
