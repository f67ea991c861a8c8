package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, stdin string, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := IO{In: strings.NewReader(stdin), Out: &out, Err: &errb, Terminal: terminal}
	code = Main(context.Background(), args, io)
	return code, out.String(), errb.String()
}

const goodLab = `lab = "ci"
host "xs1" {
  xapi_url      = "https://127.0.0.1:8443"
  xapi_password = env("XENLAB_TEST_UNSET_PASSWORD", "from-default")
}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.hcl", goodLab)
	bad := writeFile(t, dir, "bad.hcl", goodLab+"quantum {\n  vlan_range = \"1000:5000\"\n}\n")
	cases := []struct {
		name     string
		args     []string
		terminal bool
		stdin    string
		code     int
		errHas   string
	}{
		{"no args prints usage", nil, false, "", ExitUsage, ""},
		{"help", []string{"--help"}, false, "", ExitOK, ""},
		{"unknown command", []string{"frobnicate"}, false, "", ExitUsage, `unknown command "frobnicate"`},
		{"validate good", []string{"validate", "-f", good}, false, "", ExitOK, ""},
		{"validate bad names line", []string{"validate", "-f", bad}, false, "", ExitUsage, "bad.hcl:7"},
		{"validate missing file", []string{"validate", "-f", filepath.Join(dir, "nope.hcl")}, false, "", ExitUsage, "does not exist"},
		{"bad flag", []string{"up", "--frobnicate"}, false, "", ExitUsage, "frobnicate"},
		{"bad on-error", []string{"up", "-f", good, "--on-error", "explode"}, false, "", ExitUsage, "--on-error must be one of"},
		{"up against an unreachable host names it", []string{"up", "-f", good}, false, "", ExitFailed, "host xs1"},
		{"down needs --yes off a terminal", []string{"down", "-f", good}, false, "", ExitUsage, "--yes"},
		{"down on a terminal, answered no", []string{"down", "-f", good}, true, "n\n", ExitOK, "Nothing was done"},
		{"down on a terminal, answered yes", []string{"down", "-f", good}, true, "yes\n", ExitFailed, "not built yet"},
		{"localrc without import", []string{"localrc"}, false, "", ExitUsage, "localrc import FILE"},
		{"logs needs its directory", []string{"logs", "-f", good}, false, "", ExitUsage, "logs [-f lab.hcl] DIR"},
		{"plan lists the built steps", []string{"plan", "-f", good}, false, "", ExitOK, ""},
		{"status is not built", []string{"status", "-f", good}, false, "", ExitFailed, "not built yet"},
		{"parallel 0 refused", []string{"up", "-f", good, "--parallel", "0"}, false, "", ExitUsage, "--parallel must be 1 or more"},
		{"logs with a directory is not built", []string{"logs", "-f", good, "out"}, false, "", ExitFailed, "not built yet"},
		{"sim without serve", []string{"sim"}, false, "", ExitUsage, "sim serve"},
		{"sim serve bad ovs", []string{"sim", "serve", "--ovs", "kernel"}, false, "", ExitUsage, "--ovs must be one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.stdin, c.terminal, c.args...)
			if code != c.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.errHas) {
				t.Fatalf("stderr does not mention %q:\n%s", c.errHas, stderr)
			}
		})
	}
}

func TestLocalrcImportValidates(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XENAPI_PASSWORD", "from-the-environment")
	rc := writeFile(t, dir, "localrc", `# Havana-era localrc
XENAPI_CONNECTION_URL="http://10.0.0.5"
XENAPI_PASSWORD=hunter2
ENABLED_SERVICES+=,quantum,q-svc,q-agt,q-dhcp,q-l3,q-meta,q-domua,-n-net
OVS_VLAN_RANGES=physnet1:1000:1024
OSDOMU_MEM_MB=3072
`)
	out := filepath.Join(dir, "lab.hcl")
	code, _, stderr := run(t, "", false, "localrc", "import", rc, "-o", out)
	if code != ExitOK {
		t.Fatalf("import exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "hunter2") {
		t.Fatalf("the password leaked into the warnings: %s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("the password was written into the lab file:\n%s", b)
	}
	if code, _, stderr := run(t, "", false, "validate", "-f", out); code != ExitOK {
		t.Fatalf("imported lab file does not validate (exit %d): %s\n%s", code, stderr, b)
	}
	// -o never overwrites.
	if code, _, _ := run(t, "", false, "localrc", "import", rc, "-o", out); code != ExitUsage {
		t.Fatalf("second import over an existing file: exit %d, want %d", code, ExitUsage)
	}
}

// TestDownPromptHonoursCtrlC: Ctrl-C while down waits for its answer exits
// 130 at once, without an answer.
func TestDownPromptHonoursCtrlC(t *testing.T) {
	good := writeFile(t, t.TempDir(), "good.hcl", goodLab)
	pr, pw := io.Pipe() // an answer that never comes
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"down", "-f", good}, IO{In: pr, Out: io.Discard, Err: &errb, Terminal: true})
	}()
	cancel()
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Fatalf("exit %d, want %d; stderr: %s", code, ExitInterrupted, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("down still waits for an answer after Ctrl-C")
	}
}

// TestDiagnosticsRendering: on a terminal a lab file's errors come with the
// offending source line; elsewhere one line each, file:line:col first.
func TestDiagnosticsRendering(t *testing.T) {
	bad := writeFile(t, t.TempDir(), "bad.hcl", goodLab+"quantum {\n  vlan_range = \"1000:5000\"\n}\n")
	for _, color := range []bool{false, true} {
		var errb bytes.Buffer
		code := Main(context.Background(), []string{"validate", "-f", bad},
			IO{In: strings.NewReader(""), Out: io.Discard, Err: &errb, Color: color})
		if code != ExitUsage {
			t.Fatalf("color=%v: exit %d", color, code)
		}
		snippet := strings.Contains(errb.String(), "bad.hcl line 7") && strings.Contains(errb.String(), "7:   vlan_range = ")
		oneLine := strings.HasPrefix(errb.String(), bad+":7:")
		if color != snippet || color == oneLine {
			t.Fatalf("color=%v: snippet %v, one line %v:\n%s", color, snippet, oneLine, errb.String())
		}
	}
}
