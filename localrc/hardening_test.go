package localrc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"xenlab/internal/race"
)

// parseIn parses src as dir/lab.hcl with the real file() and fixed
// environment variables, and returns its *DiagError (nil when it loads).
func parseIn(t *testing.T, dir, src string, vars map[string]string) *DiagError {
	t.Helper()
	env := osEnv(dir)
	env.lookupEnv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	_, err := parse(filepath.Join(dir, "lab.hcl"), []byte(src), env)
	if err == nil {
		return nil
	}
	var de *DiagError
	if !errors.As(err, &de) {
		t.Fatalf("want a *DiagError, got %T: %v", err, err)
	}
	return de
}

// rendered is both renderings of a DiagError: one line per diagnostic, and
// the terminal's with source snippets.
func rendered(t *testing.T, de *DiagError) string {
	t.Helper()
	var b bytes.Buffer
	if err := de.Write(&b, false, 0); err != nil {
		t.Fatal(err)
	}
	return de.Error() + "\n" + b.String()
}

const labHead = `lab = "l"
host "h" {
  xapi_url      = "https://192.0.2.1"
  xapi_password = "pw"
`

// TestPrescanBounds: constructs that overflow hcl/v2's parser stack or
// take it quadratic time are answered with a diagnostic at file:line:col
// before hcl parses them (before the bound, the first ones crashed the
// process with "fatal error: stack overflow").
func TestPrescanBounds(t *testing.T) {
	if race.Enabled {
		t.Skip("one goroutine parsing a mebibyte, nothing for the race detector to see, and ten times slower under it: the run without -race checks it (.ci/run makes both)")
	}
	heredoc := "x = <<EOT\n" + strings.Repeat("abcdefgh\n", 80000) + "EOT\n"
	for _, c := range []struct {
		name, src, summary, pos string
	}{
		{"brackets", "x = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n", "Lab file nested too deeply", ":1:105:"},
		{"parentheses", "x = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "\n", "Lab file nested too deeply", ":1:105:"},
		{"objects", "x = " + strings.Repeat("{a=", 100000) + "1" + strings.Repeat("}", 100000) + "\n", "Lab file nested too deeply", ":1:305:"},
		{"unary minus", "x = " + strings.Repeat("-", 300000) + "1\n", "Lab file nested too deeply", ":1:105:"},
		{"unary not", "x = " + strings.Repeat("!", 300000) + "true\n", "Lab file nested too deeply", ":1:105:"},
		{"templates", "x = " + strings.Repeat(`"${`, 30000) + "1" + strings.Repeat(`}"`, 30000) + "\n", "Lab file nested too deeply", ":1:"},
		{"heredoc 80k lines", heredoc, "String or heredoc too large", ":80002:1:"},
		{"escapes", `x = "` + strings.Repeat("a$${", 40000) + "\"\n", "String or heredoc too large", ":1:"},
		{"size", "# " + strings.Repeat("x", MaxLabFileSize) + "\n", "Lab file too large", ":1:1:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse("big.hcl", []byte(c.src), fuzzEnv())
			var de *DiagError
			if !errors.As(err, &de) || len(de.Diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", err)
			}
			if got := de.Error(); !strings.HasPrefix(got, "big.hcl"+c.pos) || !strings.Contains(got, c.summary) {
				t.Errorf("diagnostic = %.300s; want big.hcl%s ... %s", got, c.pos, c.summary)
			}
		})
	}
	// What a lab file needs passes: the documented full example, and a
	// 300-line heredoc nested a few levels.
	ok := labHead + "}\ndevstack {\n  extra = { A = [\"x\"], B = <<EOT\n" + strings.Repeat("d-i some/question string value\n", 300) + "EOT\n }\n}\n"
	if de := parseIn(t, t.TempDir(), ok, nil); de != nil {
		t.Errorf("a normal lab file was refused: %v", de)
	}
}

// TestLoadRefusesNonRegularLabFile: a FIFO given as the lab file is
// refused at once (before, os.ReadFile waited for a writer forever).
func TestLoadRefusesNonRegularLabFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "lab.hcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	release := unblockWriter(t, fifo)
	_, err := Load(fifo)
	release()
	var de *DiagError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "named pipe") || !strings.HasPrefix(err.Error(), fifo+":1:1:") {
		t.Errorf("Load(FIFO) = %v; want a diagnostic saying it is a named pipe", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("Load(dir) = %v", err)
	}
}

// unblockWriter starts a writer on the FIFO that writes "pw" once a reader
// opens it, so code that (wrongly) reads the FIFO gets an answer instead of
// hanging the test; release lets the writer finish when nobody read.
func unblockWriter(t *testing.T, fifo string) (release func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = f.WriteString("pw")
		_ = f.Close()
	}()
	return func() {
		// Opening the read end lets a still-waiting writer through.
		if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			<-done
			_ = r.Close()
		}
		<-done
	}
}

// TestFileReadsRegularFilesOnly: file() refuses FIFOs, devices and
// directories before reading a byte, and files over MaxFileSize, and says
// which file and what is wrong with it.
func TestFileReadsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "max"), bytes.Repeat([]byte("a"), MaxFileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{"fifo", `cannot read "fifo" (relative to the lab file): it is a named pipe (FIFO), not a regular file`},
		{"big", `cannot read "big" (relative to the lab file): it is 1048577 bytes, more than 1 MiB`},
		{".", `cannot read "." (relative to the lab file): it is a directory`},
	}
	if fi, err := os.Stat("/dev/zero"); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cases = append(cases, struct{ path, want string }{"/dev/zero", `it is a character device, not a regular file`})
	}
	for _, c := range cases {
		release := unblockWriter(t, fifo)
		de := parseIn(t, dir, strings.Replace(labHead, `"pw"`, `file("`+c.path+`")`, 1)+"}\n", nil)
		release()
		if de == nil || len(de.Diags) != 1 || !strings.Contains(de.Error(), c.want) || !strings.Contains(de.Error(), "Invalid host.xapi_password") {
			t.Errorf("file(%q): got %v; want one diagnostic containing %q", c.path, de, c.want)
		}
	}
	if de := parseIn(t, dir, strings.Replace(labHead, `"pw"`, `file("max")`, 1)+"}\n", nil); de != nil {
		t.Errorf("a file of exactly MaxFileSize was refused: %v", de)
	}
}

// TestDiagnosticsNeverQuoteFileContents: whatever a field read with file()
// holds, and wherever a validation message would quote it, the
// diagnostics say which file and what is wrong, not what it holds.
func TestDiagnosticsNeverQuoteFileContents(t *testing.T) {
	dir := t.TempDir()
	const shadow = "root:$6$Zq9secretsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
	if err := os.WriteFile(filepath.Join(dir, "shadow"), []byte(shadow), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "name"), []byte("NOT_SET_VARIABLE_9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `lab = file("shadow")
host "h" {
  xapi_url      = file("shadow")
  xapi_password = env(trimspace(file("name")))
  ssh_host      = "${file("shadow")}x"
}
domu {
  memory = trimspace(file("shadow"))
  ubuntu { release = file("shadow") }
}
quantum { vlan_range = file("shadow") }
`
	de := parseIn(t, dir, src, nil)
	if de == nil {
		t.Fatal("want errors")
	}
	out := rendered(t, de)
	for _, piece := range []string{"secretsalt", "hashhash", "daemon", "NOT_SET_VARIABLE_9", "root:"} {
		if strings.Contains(out, piece) {
			t.Errorf("diagnostics quote the file's contents (%q):\n%s", piece, out)
		}
	}
	for _, want := range []string{"Invalid lab", `got (the contents of "shadow")`, "Invalid host.xapi_url", "Invalid domu.memory",
		`(the contents of "name")`, "Invalid quantum.vlan_range", "Invalid domu.ubuntu.release"} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
}

// hostile are passwords that broke redaction or could break masking.
var hostile = []string{
	`pa"ss`, `back\slash\`, `"; rm -rf / #`, `'single'`, strings.Repeat("x9", 150), "xenserver",
	`${env("HOME")}`, "tab-less but long and with spaces in it", "ünïcødé-pässwörd",
}

// TestSnippetsNeverShowSecrets: the terminal rendering's source snippets
// show "<redacted>" for every secret field written inline (xapi_password,
// ssh_password, domu's password, sensitive devstack.extra settings), on
// lines that have errors or are near them, in files that parse and files
// that do not. Before, the snippet printed the line as written.
func TestSnippetsNeverShowSecrets(t *testing.T) {
	for _, pw := range hostile {
		q := hclQuote(pw)
		// Each file has an error on the line (or lines) of a secret.
		files := map[string]string{
			"operand":   "lab = \"l\"\nhost \"h\" {\n  xapi_url = \"http://10.0.0.5/\"\n  xapi_password = " + q + " + 1\n}\n",
			"domu":      labHead + "}\ndomu {\n  password = [" + q + "]\n}\n",
			"extra":     labHead + "}\ndevstack {\n  extra = { ADMIN_PASSWORD = " + q + ", \"SERVICE_TOKEN\" = " + q + ", Q_X = { a = 1 } }\n}\n",
			"env dflt":  labHead + "  ssh_password = env(\"UNSET_VAR\", " + q + ", 1)\n}\n",
			"heredoc":   labHead + "  ssh_password = [<<EOT\n" + strings.NewReplacer("${", "$${", "%{", "%%{").Replace(pw) + "\nEOT\n  ]\n}\n",
			"bare word": labHead + "  ssh_password = hunter2x" + strings.Repeat("y", len(pw)%5) + "\n}\n",
			// Files that do not parse.
			"syntax":       labHead + "  ssh_password = " + q + " ssh_port = 2\n}\n",
			"unterminated": labHead + "  ssh_password = \"" + strings.ReplaceAll(pw, `"`, "") + "\n  ssh_port = 2\n}\n",
		}
		for name, src := range files {
			de := parseIn(t, t.TempDir(), src, nil)
			if de == nil {
				t.Fatalf("%s: want errors", name)
			}
			var b bytes.Buffer
			if err := de.Write(&b, true, 80); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			secrets := []string{pw, q[1 : len(q)-1], "hunter2x"}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s (%q): the snippet shows the secret:\n%s", name, pw, out)
				}
			}
			if !strings.Contains(out, "<redacted>") {
				t.Errorf("%s: no snippet shows the masked value:\n%s", name, out)
			}
		}
	}
}

// TestMaskKeepsPositions: masking keeps every line's number and the
// highlighted text of errors after a masked value on the same line.
func TestMaskKeepsPositions(t *testing.T) {
	src := labHead + "  ssh_password = <<EOT\nsecret one\nsecret two\nEOT\n}\ndevstack {\n  extra = { ADMIN_PASSWORD = \"hunter2\", \"bad name\" = \"x\" }\n}\n"
	de := parseIn(t, t.TempDir(), src, nil)
	if de == nil {
		t.Fatal("want errors")
	}
	var b bytes.Buffer
	if err := de.Write(&b, true, 0); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"lab.hcl line 11, in devstack:", "  11:   extra = { ADMIN_PASSWORD = \"<redacted>\", \x1b[1;4m\"bad name\"\x1b[0m = \"x\" }"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendering lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "secret") {
		t.Errorf("secret shown:\n%s", out)
	}
}

// hclQuote writes s as an HCL string literal.
func hclQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}

// TestSecretsWithControlCharactersRejected: a password holding a control
// character (xapi would get U+FFFD) or a line break is refused at load with
// a diagnostic naming the field, never the value; every other hostile
// password loads unchanged.
func TestSecretsWithControlCharactersRejected(t *testing.T) {
	for _, c := range []struct{ field, pw, where string }{
		{"host.xapi_password", "bell\apassword", "xapi_password = %s"},
		{"host.ssh_password", "two\nlines", "ssh_password = %s"},
		{"host.xapi_password", "from-a-file\n", "xapi_password = %s"},
		{"domu.password", "del\x7fchar", "}\ndomu {\n password = %s"},
		{"domu.password", "c1\u009bchar", "}\ndomu {\n password = %s"},
		{"devstack.extra.ADMIN_PASSWORD", "tab\tbed", "}\ndevstack {\n extra = { ADMIN_PASSWORD = %s }"},
		{"devstack.extra.SERVICE_PASSWORD", "nul\x00", "}\ndevstack {\n extra = { \"SERVICE_PASSWORD\" = [%s] }"},
	} {
		src := strings.Replace(labHead, `  xapi_password = "pw"`+"\n", "", 1) + strings.Replace(c.where, "%s", `env("PW")`, 1) + "\n}\n"
		if !strings.Contains(c.where, "xapi_password") {
			src = labHead + strings.Replace(c.where, "%s", `env("PW")`, 1) + "\n}\n"
		}
		de := parseIn(t, t.TempDir(), src, map[string]string{"PW": c.pw})
		if de == nil {
			t.Errorf("%s %q accepted", c.field, c.pw)
			continue
		}
		out := rendered(t, de)
		if !strings.Contains(out, "Invalid "+c.field) || strings.Contains(out, c.pw) {
			t.Errorf("%s %q: want a diagnostic naming the field, not the value:\n%s", c.field, c.pw, out)
		}
		if strings.HasSuffix(c.pw, "\n") && !strings.Contains(out, "trimspace(file(") {
			t.Errorf("a trailing newline gets no hint:\n%s", out)
		}
	}
	for _, pw := range hostile {
		cfg, err := parse("lab.hcl", []byte(strings.Replace(labHead, `"pw"`, `env("PW")`, 1)+"}\n"), testEnv(t.TempDir(), map[string]string{"PW": pw}))
		if err != nil || cfg.Hosts[0].XAPIPassword.Reveal() != pw {
			t.Errorf("password %q: %v", pw, err)
		}
	}
}

// TestURLCredentialsNeverQuoted: an xapi_url carrying a password is
// refused without quoting it, whatever else is wrong with the URL (before,
// a URL with credentials and no host was quoted whole).
func TestURLCredentialsNeverQuoted(t *testing.T) {
	for _, u := range []string{"https://root:hunter2secret@", "https://root:hunter2secret@/x", "https://root:hunter2secret@h:99999", "ftp://root:hunter2secret@h", "https://root:hunter2secret@h"} {
		de := parseIn(t, t.TempDir(), strings.Replace(labHead, "https://192.0.2.1", u, 1)+"}\n", nil)
		if de == nil {
			t.Errorf("%s accepted", u)
			continue
		}
		if out := rendered(t, de); strings.Contains(out, "hunter2secret") || !strings.Contains(out, "Invalid host.xapi_url") {
			t.Errorf("%s: %s", u, out)
		}
	}
}

// TestParserMessagesNeverQuoteSecrets: hcl's own messages about a secret's
// literal text do not quote a piece of it (before: "The symbol "q" is not
// a valid escape sequence selector" for xapi_password = "hun\qter2").
func TestParserMessagesNeverQuoteSecrets(t *testing.T) {
	for _, v := range []string{`"hun\qter2"`, `"hunter2\u12"`, `"a${b c}hunter2"`} {
		de := parseIn(t, t.TempDir(), strings.Replace(labHead, `"pw"`, v, 1)+"}\n", nil)
		if de == nil {
			t.Fatalf("%s accepted", v)
		}
		out := rendered(t, de)
		if strings.Contains(out, `"q"`) || strings.Contains(out, "hunter2") || strings.Contains(out, `"${"`) {
			t.Errorf("%s: a message quotes the secret:\n%s", v, out)
		}
	}
}

// TestSnippetsMaskMisspeltSecrets: a misspelt secret field fails as an
// unknown argument on its own line; the snippet masks its value too.
func TestSnippetsMaskMisspeltSecrets(t *testing.T) {
	for _, name := range []string{"xapi_pasword", "xapi_passwd", "ssh_pw", "pasword", "xapipassword", "domu_pwd", "api_token", "credentials"} {
		de := parseIn(t, t.TempDir(), labHead+"  "+name+` = "hunter2xyz"`+"\n}\n", nil)
		if de == nil {
			t.Fatalf("%s accepted", name)
		}
		var b bytes.Buffer
		if err := de.Write(&b, false, 0); err != nil {
			t.Fatal(err)
		}
		if out := b.String(); strings.Contains(out, "hunter2xyz") || !strings.Contains(out, name+` = "<redacted>"`) {
			t.Errorf("%s: %s", name, out)
		}
	}
	// Other fields keep their values in snippets.
	de := parseIn(t, t.TempDir(), labHead+"  ssh_host = \"a b\"\n  ssh_key = \"~/k\"\n  name_label = \"shown\"\n}\n", nil)
	var b bytes.Buffer
	_ = de.Write(&b, false, 0)
	for _, want := range []string{`ssh_host = "a b"`, `name_label = "shown"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("snippet lacks %s:\n%s", want, b.String())
		}
	}
}

// TestExtraHintsAreAccepted: what an error on a devstack.extra value tells
// the user to write in the lab file's string is accepted there, and gives
// domU's localrc the escaped character.
func TestExtraHintsAreAccepted(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ bad, hint, good, value string }{
		{`"x\"y"`, `\\\"`, `"x\\\"y"`, `x\"y`},
		{"\"x`y\"", "\\\\`", "\"x\\\\`y\"", "x\\`y"},
		{`"$(id)"`, `\\$`, `"\\$(id)"`, `\$(id)`},
	} {
		src := labHead + "}\ndevstack {\n  extra = { A = " + c.bad + " }\n}\n"
		de := parseIn(t, dir, src, nil)
		if de == nil || !strings.Contains(de.Error(), c.hint+" in the lab file's string") {
			t.Fatalf("A = %s: want an error that says to write %s, got %v", c.bad, c.hint, de)
		}
		src = labHead + "}\ndevstack {\n  extra = { A = " + c.good + " }\n}\n"
		env := osEnv(dir)
		cfg, err := parse(filepath.Join(dir, "lab.hcl"), []byte(src), env)
		if err != nil {
			t.Fatalf("A = %s, as the error says: %v", c.good, err)
		}
		if len(cfg.Devstack.Extra) != 1 || cfg.Devstack.Extra[0].Value != c.value {
			t.Fatalf("A = %s: extra %+v, want the value %s", c.good, cfg.Devstack.Extra, c.value)
		}
	}
}
