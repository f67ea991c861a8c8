package ssh

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"xenlab/secret"
)

// TestConfigNeverPrintsPassword: a Config holding a password can be logged
// with any verb (each verb, JSON and slog are tested in package secret; a
// Config itself has a func field, so it cannot be JSON-encoded).
func TestConfigNeverPrintsPassword(t *testing.T) {
	cfg := Config{Host: "dom0", Password: secret.New("hunter2")}
	out := fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg) + fmt.Sprint(&cfg)
	if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
		t.Fatalf("secret printed: %s", out)
	}
	if !strings.Contains(out, secret.Redacted) || !cfg.Password.IsSet() || (Config{}).Password.IsSet() {
		t.Fatalf("want the marker in %s; IsSet must tell a password from none", out)
	}
}

// ShellQuote output, run through a real sh, gives back the word.
func TestShellQuoteRoundTrip(t *testing.T) {
	for _, w := range []string{"", "plain", "/etc/xapi.d/plugins/netwrap", "a b", "it's", "$(rm -rf /)", "`x`", "a\nb", `\"`, "*", "-n"} {
		out, err := exec.Command("/bin/sh", "-c", "printf '%s' "+ShellQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("ShellQuote(%q) = %s: sh gave %q %v", w, ShellQuote(w), out, err)
		}
	}
}

func TestLineWriterSplitsAndKeepsTail(t *testing.T) {
	var got []string
	var mu sync.Mutex
	w := &lineWriter{mu: &mu, fn: func(l string, stderr bool) { got = append(got, fmt.Sprintf("%s/%v", l, stderr)) }, stderr: true}
	for _, chunk := range []string{"a", "b\r\nc\n", "", "\nd"} {
		_, _ = w.Write([]byte(chunk))
	}
	w.flush()
	if strings.Join(got, ",") != "ab/true,c/true,/true,d/true" {
		t.Fatalf("lines %q", got)
	}
	got = nil
	_, _ = w.Write([]byte(strings.Repeat("x", maxLine+10)))
	w.flush()
	if len(got) != 2 || len(got[0]) != maxLine+len("/true") {
		t.Fatalf("long line split into %d parts", len(got))
	}
	big := strings.Repeat("y", 3*tailBytes) + "END"
	_, _ = w.Write([]byte(big))
	if tail := w.tail.Bytes(); len(tail) != tailBytes || !strings.HasSuffix(string(tail), "END") {
		t.Fatalf("tail len %d", len(tail))
	}
}

func TestRunErrorMessage(t *testing.T) {
	var out strings.Builder
	for i := 1; i <= 15; i++ {
		fmt.Fprintf(&out, "line %d\n", i)
	}
	inner := errors.New("Process exited with status 2")
	err := error(&RunError{Host: "domU", Command: "./stack.sh", ExitStatus: 2, Stdout: []byte(out.String()), Stderr: []byte("fatal: no localrc\n"), Inner: inner})
	msg := err.Error()
	for _, want := range []string{"ssh domU", `"./stack.sh"`, "exited with status 2", "fatal: no localrc", "line 15", "line 6"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 5\n") {
		t.Errorf("more than the tail printed:\n%s", msg)
	}
	if !errors.Is(err, inner) {
		t.Error("Unwrap does not reach Inner")
	}
	sig := (&RunError{Host: "h", Command: "c", ExitStatus: 143, Signal: "TERM"}).Error()
	if !strings.Contains(sig, "killed by signal TERM") {
		t.Error(sig)
	}
}

func TestConfigValidation(t *testing.T) {
	kh := []string{filepath.Join(t.TempDir(), "kh")}
	pw := secret.New("x")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Host: "dom0", User: "root", Password: pw, KnownHosts: kh}, "Addr is empty"},
		{Config{Host: "dom0", Addr: "h", Password: pw, KnownHosts: kh}, "User is empty"},
		{Config{Host: "dom0", Addr: "h", User: "root", KnownHosts: kh}, "no authentication method"},
		{Config{Host: "dom0", Addr: "h", User: "root", Password: pw}, "no KnownHosts"},
		{Config{Host: "dom0", Addr: "h", User: "root", KeyFiles: []string{"/nonexistent/key"}, KnownHosts: kh}, "/nonexistent/key"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want %q", tc.cfg, err, tc.want)
		}
	}
	c, err := New(Config{Host: "dom0", Addr: "h", User: "root", Password: pw, KnownHosts: kh})
	if err != nil || c.cfg.Addr != "h:22" {
		t.Fatalf("default port: %v %v", err, c)
	}
	if _, err := os.Stat(kh[0]); err == nil {
		t.Fatal("New touched known_hosts")
	}
}

// An idempotent command is re-run only with stdin that can be read again
// from the start.
func TestRewindStdin(t *testing.T) {
	if !rewind(nil) {
		t.Error("no stdin: not re-runnable")
	}
	r := strings.NewReader("secret\n")
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	if !rewind(r) {
		t.Error("a seekable stdin: not re-runnable")
	}
	if b, _ := io.ReadAll(r); string(b) != "secret\n" {
		t.Errorf("after rewind stdin reads %q", b)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	if rewind(pr) {
		t.Error("a pipe was taken for re-runnable")
	}
	if rewind(failingSeeker{}) {
		t.Error("a seeker whose Seek fails was taken for re-runnable")
	}
}

type failingSeeker struct{ io.Reader }

func (failingSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("not seekable") }
