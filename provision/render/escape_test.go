package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"xenlab/provision"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"XenServer 6.2 – Ωmega 日本 🙂\ttab", "XenServer 6.2 – Ωmega 日本 🙂\ttab"},
		{"\x1b[2J\x1b[31mred", `\x1b[2J\x1b[31mred`},
		{"csi\u009b2Jc1", `csi\u009b2Jc1`},
		{"gnp.exe\u202etxt", `gnp.exe\u202etxt`},
		{"a\u2066b\u2069\u200f", `a\u2066b\u2069\u200f`},
		{"ok\rFAKE", `ok\rFAKE`},
		{"two\nlines\u2028", `two\nlines\u2028`},
		{"nul\x00del\x7fbel\a", `nul\x00del\x7fbel\x07`},
		{"bad\xffutf8", `bad\xffutf8`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// hostileEvents carry what a hostile xapi can put into product_brand,
// name_label or an error message: a screen clear, a C1 CSI, a bidi
// override, a bare CR and a line break that forges a line of xenlab's own.
func hostileEvents() []provision.Event {
	at := time.Date(2026, 11, 24, 20, 31, 2, 0, time.UTC)
	evil := "XenServer\x1b[2J\u009b31m\u202eenots\rFORGED\n2026-11-24T20:31:02Z net done 1s"
	return []provision.Event{
		{Time: at, Phase: provision.PhaseApply, Step: "host", Kind: provision.EventStarted, Attempt: 1},
		{Time: at, Phase: provision.PhaseApply, Step: "host", Kind: provision.EventOutput, Line: "product_brand " + evil},
		{Time: at, Phase: provision.PhaseApply, Step: "host", Kind: provision.EventRetry, Attempt: 2, Err: evil},
		{Time: at, Phase: provision.PhaseApply, Step: "host", Kind: provision.EventFailed, Err: evil},
		{Time: at, Phase: provision.PhaseApply, Step: "vm", Kind: provision.EventSkipped, Line: evil},
	}
}

// rawHostile reports which of the hostile sequences out holds unescaped.
func rawHostile(out string) []string {
	var found []string
	for _, s := range []string{"\x1b[2J", "\u009b", "\u202e", "\rFORGED", "\n2026-11-24T20:31:02Z net done"} {
		if strings.Contains(out, s) {
			found = append(found, s)
		}
	}
	return found
}

// TestPlainEscapesServerText: before, the plain view printed a server's
// text raw (the escape sequences ran, the CR and LF forged lines).
func TestPlainEscapesServerText(t *testing.T) {
	var b bytes.Buffer
	p := NewPlain(&b)
	for _, ev := range hostileEvents() {
		p.Event(ev)
	}
	if raw := rawHostile(b.String()); len(raw) > 0 {
		t.Errorf("plain output holds %q raw:\n%q", raw, b.String())
	}
	if n := strings.Count(b.String(), "\n"); n != len(hostileEvents()) {
		t.Errorf("%d lines for %d events:\n%s", n, len(hostileEvents()), b.String())
	}
	if !strings.Contains(b.String(), `host failed after 0s: XenServer\x1b[2J\u009b31m\u202eenots\rFORGED\n2026`) {
		t.Errorf("escaped text missing:\n%s", b.String())
	}
}

// TestTTYEscapesServerText: the same on the terminal view, with a bar
// running (lines printed above it) and without one.
func TestTTYEscapesServerText(t *testing.T) {
	for _, withBar := range []bool{true, false} {
		var out lockedBuffer
		tty := NewTTY(&out)
		if withBar {
			tty.Begin(provision.PhaseApply, []string{"host", "vm"})
		}
		for _, ev := range hostileEvents() {
			tty.Event(ev)
		}
		if err := tty.Close(nil); err != nil {
			t.Fatal(err)
		}
		if raw := rawHostile(out.String()); len(raw) > 0 {
			t.Errorf("bar %v: terminal output holds %q raw:\n%q", withBar, raw, out.String())
		}
		if !strings.Contains(out.String(), `product_brand XenServer\x1b[2J`) {
			t.Errorf("bar %v: escaped output line missing:\n%q", withBar, out.String())
		}
	}
}
