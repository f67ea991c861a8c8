package scripts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// pythons are the interpreters the plugin is run under here: CPython 2.7
// (dom0 of XenServer 7.x; 6.x ran 2.4, see TestNetwrapSourceAvoidsNewSyntax)
// and Python 3 (8.x). A missing one is skipped with the reason.
func pythons(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	if p, err := python2(); err == nil {
		found["python2"] = p
	} else {
		t.Logf("python2: %v", err)
	}
	for _, c := range []string{"/usr/bin/python3", "python3"} {
		if p, err := exec.LookPath(c); err == nil {
			found["python3"] = p
			break
		}
	}
	return found
}

// python2 finds a CPython 2 without downloading anything: python2.7 or
// python2 on PATH, /usr/bin, then pyenv's 2.7 versions; each is run to
// check it is 2.x.
func python2() (string, error) {
	var cands []string
	for _, n := range []string{"python2.7", "python2"} {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	cands = append(cands, "/usr/bin/python2.7", "/usr/bin/python2")
	root := os.Getenv("PYENV_ROOT")
	if home, err := os.UserHomeDir(); root == "" && err == nil {
		root = filepath.Join(home, ".pyenv")
	}
	vers, _ := filepath.Glob(filepath.Join(root, "versions", "2.7*", "bin", "python2.7"))
	cands = append(cands, vers...)
	for _, c := range cands {
		out, err := exec.Command(c, "-c", "import sys; sys.stdout.write(sys.executable); sys.exit(sys.version_info[0] != 2)").Output()
		if err == nil && len(out) > 0 {
			return string(out), nil
		}
	}
	return "", fmt.Errorf("no Python 2 here (python2.7/python2 on PATH, /usr/bin, pyenv versions/2.7*)")
}

// callDirect runs the plugin as xapi does, with the XML-RPC call as its
// one argument, under python, with testdata/harness as XenAPIPlugin and
// testdata/bin as the whole PATH. It returns the value or the failure.
func callDirect(t *testing.T, python, fn string, args map[string]string) (string, []string) {
	t.Helper()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	params := map[string]any{}
	for k, v := range args {
		params[k] = v
	}
	call, err := xmlrpc.MarshalCall(fn, []any{"OpaqueRef:session", params})
	if err != nil {
		t.Fatal(err)
	}
	// A guard against a hang (the bug this plugin fixes), not a measurement.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, abs("netwrap"), string(call))
	cmd.Env = []string{"PATH=" + abs("testdata/bin"), "PYTHONPATH=" + abs("testdata/harness"),
		"PYTHONDONTWRITEBYTECODE=1"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", fn, args, err, stderr.String())
	}
	v, err := xmlrpc.UnmarshalResponse(out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", fn, err, out)
	}
	res, _ := v.(map[string]any)
	if res["Status"] == "Success" {
		s, ok := res["Value"].(string)
		if !ok {
			t.Fatalf("%s: value %#v is not a string", fn, res["Value"])
		}
		return s, nil
	}
	var desc []string
	for _, d := range res["ErrorDescription"].([]any) {
		desc = append(desc, fmt.Sprint(d))
	}
	return "", desc
}

func argv(words ...string) string {
	b, _ := json.Marshal(append([]string{}, words...))
	return string(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestNetwrapProtocol runs the plugin under each Python it supports with
// the calls neutron's rootwrap-xen-dom0 makes, and checks both contracts.
func TestNetwrapProtocol(t *testing.T) {
	found := pythons(t)
	for _, name := range []string{"python2", "python3"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			py, ok := found[name]
			if !ok {
				t.Skipf("%s is not installed here", name)
			}
			testNetwrapProtocol(t, py)
		})
	}
}

func testNetwrapProtocol(t *testing.T, py string) {
	run := func(args map[string]string) string {
		t.Helper()
		v, fail := callDirect(t, py, "run_command", args)
		if fail != nil {
			t.Fatalf("run_command %v: failure %q", args, fail)
		}
		var s string
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			t.Fatalf("run_command %v: answer %q is not a JSON string: %v", args, v, err)
		}
		return s
	}
	status := func(args map[string]string) (int, string, string) {
		t.Helper()
		v, fail := callDirect(t, py, "run_command_status", args)
		if fail != nil {
			t.Fatalf("run_command_status %v: failure %q", args, fail)
		}
		var r struct {
			Returncode *int
			Out, Err   *string
		}
		if err := json.Unmarshal([]byte(v), &r); err != nil || r.Returncode == nil || r.Out == nil || r.Err == nil {
			t.Fatalf("run_command_status %v: answer %q is not {returncode, out, err}: %v", args, v, err)
		}
		return *r.Returncode, *r.Out, *r.Err
	}
	fails := func(fn string, args map[string]string, want ...string) {
		t.Helper()
		v, fail := callDirect(t, py, fn, args)
		if !slices.Equal(fail, want) {
			t.Errorf("%s %v = %q, failure %q; want failure %q", fn, args, v, fail, want)
		}
	}
	refused := func(fn, what string) []string {
		return []string{"XENAPI_PLUGIN_FAILURE", fn, "PluginError", "Dom0 execution of '" + what + "' is not permitted"}
	}

	// Havana's call: no cmd_input at all.
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "echo", "a", "b c")}); got != "args: a b c\n" {
		t.Errorf("echo: %q", got)
	}
	// stdin: the input reaches the command; without input, stdin is closed
	// (Havana's plugin left it open and a reading command hung).
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "cat"), "cmd_input": jsonString("table=0 actions=drop\nx\n")}); got != "table=0 actions=drop\nx\n" {
		t.Errorf("stdin: %q", got)
	}
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "cat"), "cmd_input": "null"}); got != "" {
		t.Errorf("null input: %q", got)
	}
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "cat")}); got != "" {
		t.Errorf("no input: %q", got)
	}
	// Output larger than a pipe (Havana's wait()-then-read hung on it).
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "big", "300000")}); len(got) != 300000 {
		t.Errorf("big output: %d bytes", len(got))
	}
	// Bytes that are not UTF-8 do not break the answer.
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "utf8")}); got != "café \ufffd\n" {
		t.Errorf("utf8: %q", got)
	}
	// Havana's contract: any stderr fails the call with it; an exit status
	// without stderr is lost.
	fails("run_command", map[string]string{"cmd": argv("ovs-vsctl", "fail", "x")},
		"XENAPI_PLUGIN_FAILURE", "run_command", "PluginError", "boom: x\n")
	fails("run_command", map[string]string{"cmd": argv("ovs-vsctl", "warn")},
		"XENAPI_PLUGIN_FAILURE", "run_command", "PluginError", "warning\n")
	if got := run(map[string]string{"cmd": argv("ovs-vsctl", "quiet-fail")}); got != "" {
		t.Errorf("quiet failure: %q", got)
	}
	// The 2016 contract: the status, both outputs, no raise.
	if rc, out, errOut := status(map[string]string{"cmd": argv("ovs-vsctl", "fail", "y"), "cmd_input": "null"}); rc != 3 || out != "partial\n" || errOut != "boom: y\n" {
		t.Errorf("status of a failing command: %d %q %q", rc, out, errOut)
	}
	if rc, out, errOut := status(map[string]string{"cmd": argv("ovs-vsctl", "quiet-fail")}); rc != 2 || out != "" || errOut != "" {
		t.Errorf("status of a quiet failure: %d %q %q", rc, out, errOut)
	}
	if rc, out, _ := status(map[string]string{"cmd": argv("ovs-vsctl", "cat"), "cmd_input": jsonString("in")}); rc != 0 || out != "in" {
		t.Errorf("status with input: %d %q", rc, out)
	}

	// Refusals: the era's message, for both functions (they share the
	// checks; the argument errors are exercised through run_command).
	for _, fn := range []string{"run_command", "run_command_status"} {
		fails(fn, map[string]string{"cmd": argv("rm", "-rf", "/")}, refused(fn, "rm")...)
		fails(fn, map[string]string{"cmd": argv("ip", "netns", "exec", "x", "rm", "-rf", "/")}, refused(fn, "ip netns exec x rm -rf /")...)
		// Allowed, but not on dom0's PATH (here: testdata/bin has no ovs-ofctl).
		fails(fn, map[string]string{"cmd": argv("ovs-ofctl", "dump-flows", "br0")},
			"XENAPI_PLUGIN_FAILURE", fn, "PluginError", "Executable not found: no 'ovs-ofctl' on dom0's PATH")
	}
	const fn = "run_command"
	fails(fn, map[string]string{"cmd": argv("/usr/bin/ovs-vsctl", "show")}, refused(fn, "/usr/bin/ovs-vsctl")...)
	fails(fn, map[string]string{"cmd": argv("sh", "-c", "ovs-vsctl show")}, refused(fn, "sh")...)
	fails(fn, map[string]string{"cmd": argv("ip", "net", "e", "x", "sh")}, refused(fn, "ip net e x sh")...)
	fails(fn, map[string]string{"cmd": argv("ip", "vrf", "exec", "v", "sh")}, refused(fn, "ip vrf exec v sh")...)
	fails(fn, map[string]string{"cmd": argv("ip", "-batch", "-")}, refused(fn, "ip -batch -")...)
	fails(fn, map[string]string{"cmd": argv()}, "XENAPI_PLUGIN_FAILURE", fn, "PluginError", "No command specified")
	fails(fn, map[string]string{}, "XENAPI_PLUGIN_FAILURE", fn, "PluginError", "Missing argument 'cmd' (a JSON list of strings)")
	fails(fn, map[string]string{"cmd": `"ovs-vsctl show"`}, "XENAPI_PLUGIN_FAILURE", fn, "PluginError", "Argument 'cmd' must be a JSON list of strings")
	fails(fn, map[string]string{"cmd": argv("ovs-vsctl", "cat"), "cmd_input": "[1]"}, "XENAPI_PLUGIN_FAILURE", fn, "PluginError", "Argument 'cmd_input' must be a JSON string or null")
	// ip's ordinary uses pass, -brief included.
	if got := run(map[string]string{"cmd": argv("ip", "-br", "-o", "link", "show", "dev", "xapi1")}); got != "ip -br -o link show dev xapi1\n" {
		t.Errorf("ip: %q", got)
	}
	fails("nope", map[string]string{"cmd": argv("ip")}, "UNKNOWN_XENAPI_PLUGIN_FUNCTION", "nope")
}

// TestNetwrapSourceAvoidsNewSyntax guards the Python 2.4 subset (dom0 of
// XenServer 6.x) that no interpreter here can check: constructs that 2.4
// rejects but 2.7 and 3 accept, looked for in the code with comments and
// string literals taken out.
func TestNetwrapSourceAvoidsNewSyntax(t *testing.T) {
	bad := []struct {
		re  *regexp.Regexp
		why string
	}{
		{regexp.MustCompile(`^\s*with\b`), "the with statement (2.5)"},
		{regexp.MustCompile(`^\s*except\b.*\bas\b`), "except ... as (2.6)"},
		{regexp.MustCompile(`\.format\(`), "str.format (2.6)"},
		{regexp.MustCompile(`\bprint\b`), "print (a statement in 2, a function in 3)"},
		{regexp.MustCompile(`\b([bB][rR]?|[rR][bB])''`), "bytes literals (2.6)"},
		{regexp.MustCompile(`\b(any|all|next)\(`), "any()/all()/next() (2.5, 2.6)"},
		{regexp.MustCompile(`^\s*finally\b`), "try/except/finally (2.5): keep finally out"},
		{regexp.MustCompile(`\S.*\bif\b.*\belse\b`), "a conditional expression (2.5)"},
		{regexp.MustCompile(`^\s*(from __future__|import (functools|io|collections)\b)`), "a module or feature 2.4 lacks"},
	}
	for i, code := range pythonCode(string(Netwrap)) {
		for _, b := range bad {
			if b.re.MatchString(code) {
				t.Errorf("netwrap:%d: %s: %s", i+1, b.why, code)
			}
		}
	}
	// The checker itself finds what it must.
	for _, src := range []string{"with open(f) as x:", "except OSError as e:", "x = 'a' if c else 'b'", "y = b'raw'", "'{}'.format(1)"} {
		hit := false
		for _, code := range pythonCode(src) {
			for _, b := range bad {
				hit = hit || b.re.MatchString(code)
			}
		}
		if !hit {
			t.Errorf("the checker misses %q", src)
		}
	}
}

// pythonCode returns src's lines with comments, docstrings and the
// contents of string literals removed (a literal's prefix letters stay, so
// b'x' leaves "b" before where the literal was).
func pythonCode(src string) []string {
	var lines []string
	var cur strings.Builder
	inTriple := ""
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inTriple != "":
			if strings.HasPrefix(src[i:], inTriple) {
				i += 2
				inTriple = ""
			} else if c == '\n' {
				lines = append(lines, cur.String())
				cur.Reset()
			}
		case strings.HasPrefix(src[i:], `"""`) || strings.HasPrefix(src[i:], "'''"):
			inTriple = src[i : i+3]
			i += 2
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			i = j
			cur.WriteString("''")
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '\n':
			lines = append(lines, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(lines, cur.String())
}
