package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes text that may come from a server (a host's product_brand or
// name_label, an error message, a command's output) safe to print on a
// terminal or into a log line: control characters (C0 including a bare
// carriage return and line feed, DEL, and C1 such as U+009B, the
// one-character CSI), bidirectional-text controls (U+202E and the others
// of Unicode's Bidi_Control), line and paragraph separators, and bytes that
// are not UTF-8 are written as Go escapes (\r, \n, \x1b, \u009b, \u202e,
// \xff), so they can neither move the cursor, recolour or clear the
// screen, reorder what follows, nor start a line that looks like xenlab's
// own. Tabs and every printable character, in any script, are kept. The
// TTY and plain renderers pass every step name, line and error through it;
// the JSON renderer's encoding escapes on its own.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafeRune(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune: a control character other than tab, a bidi control, or a
// line or paragraph separator.
func unsafeRune(r rune) bool {
	return r != '\t' && unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}
