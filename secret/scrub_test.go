package secret

import (
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"xenlab/secret/secrettest"
)

// hostile are secrets of MinScrubLen characters or more that broke the
// old scrub or could break this one: quotes, backslashes, line breaks,
// markup, 300 characters, non-ASCII, and one that is also a host name.
var hostile = []string{
	`pa"ss\word`, `back\slash\\`, `"; rm -rf / #`, "new\nline pass", strings.Repeat("x9", 150),
	"xenserver", "tab\there pw", "ünïcødé-pässwörd", "<xml&amp;>pw", "  spaces  ",
}

func xmlEsc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func jsonEsc(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// echoes are texts a server or a library might produce around a secret.
var echoes = []func(s string) string{
	func(s string) string {
		return "xapi: login to http://" + s + ".invalid/ as root: Post \"http://" + s + ".invalid/\": dial tcp: lookup " + s + ".invalid: no such host"
	},
	func(s string) string { return "HTTP 500: <value>" + xmlEsc(s) + "</value> rest of body" },
	func(s string) string {
		return "reply " + strconv.Quote(s) + " was not XML-RPC; also " + strconv.QuoteToASCII(s)
	},
	func(s string) string { return `{"error":"bad password ` + jsonEsc(s) + `","code":1}` },
	func(s string) string {
		return "GET /login?user=root&password=" + url.QueryEscape(s) + " 403 and /p/" + url.PathEscape(s) + "/x"
	},
	func(s string) string { return "dump: " + hex.EncodeToString([]byte(s)) + " end" },
	func(s string) string { return s },
}

// TestScrubDoesNotDiscloseByContext: for every text built around a secret,
// the scrubbed text holds no form of it and is the same whichever secret it
// was, so neither the secret nor its length or shape can be read from what
// is left around the marker. (The old scrub in hosts/xapi replaced the bare
// string: "lookup <redacted>.invalid" next to "http://xenserver.invalid/".)
func TestScrubDoesNotDiscloseByContext(t *testing.T) {
	for i, echo := range echoes {
		var first string
		for j, s := range hostile {
			got := Scrub(echo(s), New(s))
			for _, f := range forms(s) {
				if strings.Contains(got, f) {
					t.Errorf("echo %d, secret %q: form %q left in %q", i, s, f, got)
				}
			}
			if !strings.Contains(got, Redacted) {
				t.Errorf("echo %d, secret %q: nothing replaced in %q", i, s, got)
			}
			if j == 0 {
				first = got
			} else if got != first {
				t.Errorf("echo %d: the result depends on the secret:\n%q (secret %q)\n%q (secret %q)", i, got, s, first, hostile[0])
			}
		}
	}
	got := Scrub(echoes[0]("xenserver"), New("xenserver"))
	if want := "xapi: login to " + Redacted + " as root: Post " + Redacted + " dial tcp: lookup " + Redacted + " no such host"; got != want {
		t.Errorf("Scrub = %q\nwant %q", got, want)
	}
}

// TestScrubLeavesOtherTextAlone: secrets under MinScrubLen characters, and
// secrets that are only part of a longer word, are left in place, so
// unrelated text is not corrupted and the marker's place tells nothing.
func TestScrubLeavesOtherTextAlone(t *testing.T) {
	for _, c := range []struct{ text, secret string }{
		{"login to xenserver.local failed", "xenserv"}, // 7 characters
		{"citrix citrix", "citrix"},                    // short
		{"root: permission denied", "root"},            // short and common
		{"the passwords file", "password"},             // inside a word
		{"host xenserver2.invalid", "xenserver"},       // followed by a digit
		{"id my_xenserver", "xenserver"},               // after "_"
		{"unset secret", ""},                           // unset
		{"ünïcødé-pässwördé is longer", "ünïcødé-p"},   // a non-ASCII letter continues it
	} {
		if got := Scrub(c.text, New(c.secret)); got != c.text {
			t.Errorf("Scrub(%q, %q) = %q; want it unchanged", c.text, c.secret, got)
		}
	}
	// Several secrets, overlapping runs: one marker per run.
	got := Scrub("a=hunter2hunter2,b=correcthorse x", New("hunter2hunter2"), New("correcthorse"))
	if got != Redacted+" x" {
		t.Errorf("two secrets in one run: %q", got)
	}
}

// TestScrubFindsEveryEncoding: every encoding a log can hold a secret in
// (secrettest.Echoes: base64 at each alignment and Authorization: Basic,
// base64url, URL-escaping that keeps "/", lowercase %xx, double escaping,
// &#NN; and &#xNN; entities, pieces of 9 to 12 characters) is scrubbed,
// for secrets of several shapes, and the text around it is kept.
func TestScrubFindsEveryEncoding(t *testing.T) {
	for _, s := range []string{"Zq7-hunter2-hunter2", `pa"ss\word/+=?&x`, "ünïcødé-pässwörd-42", strings.Repeat("x9", 20), "exactly12chr"} {
		echoes := secrettest.Echoes(s)
		for _, e := range echoes {
			got := Scrub(e.Text, New(s))
			if left := secrettest.Survivors(got, s, []secrettest.Echo{e}); len(left) > 0 {
				t.Errorf("secret %q, %s: %q survives in %q", s, e.Name, left, got)
			}
			if !strings.Contains(got, Redacted) {
				t.Errorf("secret %q, %s: nothing replaced in %q", s, e.Name, got)
			}
			if n := len(strings.Fields(e.Text)); n > 1 && len(strings.Fields(got)) != n {
				t.Errorf("secret %q, %s: more than the secret's run was replaced: %q", s, e.Name, got)
			}
		}
	}
}

// BenchmarkScrubLog scrubs a 1 MiB log of stack.sh's shape (xtrace lines,
// URLs, %-escapes, entities, backslashes) for five secrets, as log
// collection does for each file.
func BenchmarkScrubLog(b *testing.B) {
	line := `+ iniset /etc/nova/nova.conf DEFAULT sql_connection mysql://root:x@127.0.0.1/nova?charset=utf8 %2Fopt%2Fstack &amp; "a\"b" 2013-12-01 10:00:00.123` + "\n"
	log := strings.Repeat(line, (1<<20)/len(line))
	secrets := []Secret{New("Zq7-hunter2-hunter2"), New("xenserver-root-pw"), New("admin-secret-42"), New("rabbit-pw-0987"), New("guest-password-1")}
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		Scrub(log, secrets...)
	}
}

func TestScrubErrorHidesAndUnwraps(t *testing.T) {
	pw := New("correct-horse-battery")
	inner := fmt.Errorf("ssh dom0: command exited with status 1\n  stderr: login correct-horse-battery failed: %w", fs.ErrPermission)
	err := ScrubError(inner, pw)
	if strings.Contains(err.Error(), "correct-horse-battery") || !strings.Contains(err.Error(), "exited with status 1") {
		t.Errorf("ScrubError: %q", err)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("errors.Is does not see the wrapped error")
	}
	if ScrubError(nil, pw) != nil {
		t.Error("ScrubError(nil) is not nil")
	}
}
