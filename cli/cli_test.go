package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
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
	t.Chdir(dir) // a failed up collects its logs into ./xenlab-logs
	good := writeFile(t, dir, "good.hcl", goodLab)
	suspicious := writeFile(t, dir, "suspicious.hcl", strings.Replace(goodLab, "https://127.0.0.1:8443", "http://address_of_your_xenserver", 1))
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
		{"validate prints warnings and passes", []string{"validate", "-f", suspicious}, false, "", ExitOK, "suspicious.hcl:3:19: warning: Suspicious host.xapi_url"},
		{"validate bad names line", []string{"validate", "-f", bad}, false, "", ExitUsage, "bad.hcl:7"},
		{"status without a lab file here", []string{"status"}, false, "", ExitFailed, "the lab is not up: no lab.hcl here, and no lab on the built-in simulated host; `xenlab up` brings one up"},
		{"validate missing file", []string{"validate", "-f", filepath.Join(dir, "nope.hcl")}, false, "", ExitUsage, "does not exist"},
		{"bad flag", []string{"up", "--frobnicate"}, false, "", ExitUsage, "frobnicate"},
		{"bad on-error", []string{"up", "-f", good, "--on-error", "explode"}, false, "", ExitUsage, "--on-error must be one of"},
		{"up against an unreachable host names it", []string{"up", "-f", good}, false, "", ExitFailed, "host xs1"},
		{"down needs --yes off a terminal", []string{"down", "-f", good}, false, "", ExitUsage, "--yes"},
		{"down on a terminal, answered no", []string{"down", "-f", good}, true, "n\n", ExitOK, "Nothing was done"},
		{"down on a terminal, answered yes", []string{"down", "-f", good}, true, "yes\n", ExitFailed, "host xs1"},
		{"localrc without import", []string{"localrc"}, false, "", ExitUsage, "localrc import FILE"},
		{"logs needs its directory", []string{"logs", "-f", good}, false, "", ExitUsage, "usage: xenlab logs DIR"},
		{"plan against an unreachable host names it", []string{"plan", "-f", good}, false, "", ExitFailed, "host xs1"},
		{"status against an unreachable host names it", []string{"status", "-f", good}, false, "", ExitFailed, "host xs1"},
		{"verify against an unreachable host names it", []string{"verify", "-f", good}, false, "", ExitFailed, "host xs1"},
		{"verify takes no arguments", []string{"verify", "lab.hcl"}, false, "", ExitUsage, "name the lab file with -f"},
		{"parallel 0 refused", []string{"up", "-f", good, "--parallel", "0"}, false, "", ExitUsage, "--parallel must be 1 or more"},
		{"logs against an unreachable host names it", []string{"logs", "-f", good, "out"}, false, "", ExitFailed, "host xs1: "},
		{"sim without serve", []string{"sim"}, false, "", ExitUsage, "sim serve"},
		{"sim serve bad ovs", []string{"sim", "serve", "--ovs", "kernel"}, false, "", ExitUsage, "--ovs must be one of"},
		{"sim serve unknown version", []string{"sim", "serve", "--version", "9.9"}, false, "", ExitUsage, "--version must be one of 6.2, 7.1, 8.2"},
		{"down -y", []string{"down", "-f", good, "-y"}, false, "", ExitFailed, "host xs1"},
		{"down --yes", []string{"down", "-f", good, "--yes"}, false, "", ExitFailed, "host xs1"},
		{"mistyped command suggests", []string{"stauts"}, false, "", ExitUsage, "did you mean status?"},
		{"mistyped subcommand suggests", []string{"sim", "srve"}, false, "", ExitUsage, "did you mean serve?"},
		{"help of no command", []string{"help", "stauts"}, false, "", ExitUsage, "did you mean status?"},
		{"mistyped flag suggests", []string{"up", "--jsn"}, false, "", ExitUsage, "did you mean --json?"},
		{"usage error points at --help", []string{"up", "--frobnicate"}, false, "", ExitUsage, "Run 'xenlab up --help' for usage."},
		// Defect 7: flags are checked before a host is touched.
		{"--junit in a missing directory", []string{"up", "-f", good, "--junit", filepath.Join(dir, "nope", "j.xml")}, false, "", ExitUsage, "does not exist"},
		{"--log-dir naming a file", []string{"up", "-f", good, "--log-dir", good}, false, "", ExitUsage, "--log-dir " + good + " is a file"},
		{"--junit naming a directory", []string{"up", "-f", good, "--junit", dir}, false, "", ExitUsage, "is a directory"},
		{"zero --step-timeout", []string{"up", "-f", good, "--step-timeout", "0s"}, false, "", ExitUsage, "--step-timeout must be positive"},
		{"negative --step-timeout", []string{"up", "-f", good, "--step-timeout=-5m"}, false, "", ExitUsage, "--step-timeout must be positive"},
		{"validate a directory", []string{"validate", "-f", dir}, false, "", ExitUsage, "is a directory"},
		// Defect 9: plan --detailed-exitcode is terraform's.
		{"plan --detailed-exitcode, an error is 1", []string{"plan", "-f", bad, "--detailed-exitcode"}, false, "", ExitFailed, "bad.hcl:7"},
		{"plan --detailed-exitcode, a usage error is 1", []string{"plan", "--detailed-exitcode", "--frobnicate"}, false, "", ExitFailed, "unknown flag"},
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
	// -o never overwrites, and says so before printing any warning
	// (defect 7); the file is left as it was.
	code, _, stderr = run(t, "", false, "localrc", "import", rc, "-o", out)
	if code != ExitUsage || strings.Contains(stderr, "warning") || !strings.Contains(stderr, "exists") {
		t.Fatalf("second import over an existing file: exit %d, want %d and no warning:\n%s", code, ExitUsage, stderr)
	}
	if again, _ := os.ReadFile(out); string(again) != string(b) {
		t.Fatal("the refused import changed the existing file")
	}
	// "-" reads the localrc from stdin, and validate -f - the lab file.
	src, _ := os.ReadFile(rc)
	code, stdout, stderr := run(t, string(src), false, "localrc", "import", "-")
	_, fromStdin, _ := strings.Cut(stdout, "\n") // the first line names the source
	_, fromFile, _ := strings.Cut(string(b), "\n")
	if code != ExitOK || fromStdin != fromFile || !strings.Contains(stderr, "<stdin>:") {
		t.Fatalf("import from stdin: exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	if code, stdout, stderr := run(t, stdout, false, "validate", "-f", "-"); code != ExitOK || !strings.Contains(stdout, "<stdin>: ok") {
		t.Fatalf("validate -f -: exit %d: %s%s", code, stdout, stderr)
	}
}

// TestDownPromptHonoursCtrlC: Ctrl-C while down waits for its answer exits
// 130 at once, without an answer; SIGTERM 143.
func TestDownPromptHonoursCtrlC(t *testing.T) {
	good := writeFile(t, t.TempDir(), "good.hcl", goodLab)
	for _, c := range []struct {
		cause error
		code  int
	}{{nil, ExitInterrupted}, {SignalCause(syscall.SIGINT), ExitInterrupted}, {SignalCause(syscall.SIGTERM), ExitTerminated}} {
		pr, pw := io.Pipe() // an answer that never comes
		defer pw.Close()
		ctx, cancel := context.WithCancelCause(context.Background())
		var errb bytes.Buffer
		done := make(chan int, 1)
		go func() {
			done <- Main(ctx, []string{"down", "-f", good}, IO{In: pr, Out: io.Discard, Err: &errb, Terminal: true})
		}()
		cancel(c.cause)
		select {
		case code := <-done:
			if code != c.code || strings.Contains(errb.String(), "context canceled") {
				t.Fatalf("cause %v: exit %d, want %d; stderr: %s", c.cause, code, c.code, errb.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("down still waits for an answer after Ctrl-C")
		}
	}
}

// TestHelpAndVersion: help goes to stdout, for `help up` as for `up
// --help`; `version` prints the build information; completion scripts
// exist for bash, zsh and fish.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help", "up"}, {"up", "--help"}, {"up", "-h"}} {
		code, stdout, stderr := run(t, "", false, args...)
		if code != ExitOK || stderr != "" || !strings.Contains(stdout, "xenlab up [flags]") ||
			!strings.Contains(stdout, "-f, --file") || !strings.Contains(stdout, "--json") {
			t.Fatalf("%v: exit %d, stderr %q, stdout:\n%s", args, code, stderr, stdout)
		}
	}
	code, stdout, _ := run(t, "", false, "--help")
	if code != ExitOK || !strings.Contains(stdout, "143  terminated (SIGTERM)") {
		t.Fatalf("--help: exit %d, stdout:\n%s", code, stdout)
	}
	code, stdout, stderr := run(t, "", false, "version")
	if code != ExitOK || !strings.HasPrefix(stdout, "xenlab ") || !strings.Contains(stdout, "  go        go1.") {
		t.Fatalf("version: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, stdout, stderr := run(t, "", false, "completion", sh)
		if code != ExitOK || !strings.Contains(stdout, "xenlab") {
			t.Fatalf("completion %s: exit %d, stderr %q", sh, code, stderr)
		}
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

// TestPlanJSON (defect 9): plan --json prints one JSON line of kind
// "plan", not the text table; on a fresh host every step has work, and
// --detailed-exitcode says so with 2. (After up, plan says 0: see
// TestUpOnSimulatedHost.)
func TestPlanJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lab := h.Endpoints().LabFile
	code, stdout, stderr := run(t, "", false, "plan", "-f", lab, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var plan struct {
		Kind  string
		Steps []struct {
			Name, Action string
			DependsOn    []string `json:"depends_on"`
		}
		Pending []string
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("plan --json is not one line:\n%s", stdout)
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("plan --json: %v:\n%s", err, stdout)
	}
	if plan.Kind != "plan" || len(plan.Steps) < 2 || plan.Steps[0].Name != "preflight" ||
		len(plan.Pending) == 0 {
		t.Fatalf("plan --json: %+v", plan)
	}
	for _, st := range plan.Steps[1:] {
		if st.Name == "verify" && st.Action == "check" { // read-only, like preflight: it runs on every up
			continue
		}
		if st.Action != "apply" && st.Name != "template" { // the sim lab file uses the prebuilt template as it is
			t.Errorf("step %s on a fresh host: action %q, want apply", st.Name, st.Action)
		}
	}
	if code, _, stderr := run(t, "", false, "plan", "-f", lab, "--detailed-exitcode"); code != ExitPending {
		t.Fatalf("plan --detailed-exitcode on a fresh host: exit %d, want %d: %s", code, ExitPending, stderr)
	}
}
