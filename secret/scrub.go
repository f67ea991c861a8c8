package secret

import (
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinScrubLen is the length, in characters, under which Scrub leaves a
// secret alone: a short secret ("root", "citrix") is also a common word or
// a piece of many, so replacing it would corrupt unrelated text and, by
// what it replaced, tell the secret.
const MinScrubLen = 8

// Scrub is the last resort for text from outside xenlab (a server's reply,
// a command's output) that might echo a secret. Code must first keep
// secrets out of messages, URLs and arguments; Scrub is for what it cannot
// control.
//
// Every whole occurrence of a secret of MinScrubLen characters or more, as
// written or in a form a server or a library echoes it in (Go-quoted,
// JSON-, XML- or HTML-escaped, URL-escaped, hex), is found where it stands
// as a word of its own: the characters around it are not letters, digits
// or "_", so a secret is not found inside a longer word. The whole
// whitespace-delimited run that holds it is then replaced by Redacted, so
// what was around it in the same run (".invalid" after a host name, the
// rest of a URL) cannot tell it by its context: for any text built around
// a secret, Scrub's result is the same whichever secret it was.
//
// Limits: a secret shorter than MinScrubLen is not looked for; a piece of a
// secret (a reply cut in the middle of it) is not found, so scrub before
// cutting; a secret that is also an ordinary word of the text (a password
// "password" in "wrong password") is replaced there too, and that tells it.
func Scrub(text string, secrets ...Secret) string {
	type span struct{ start, end int }
	var spans []span
	for _, s := range secrets {
		v := s.Reveal()
		if utf8.RuneCountInString(v) < MinScrubLen {
			continue
		}
		for _, form := range forms(v) {
			for off := 0; off < len(text); {
				i := strings.Index(text[off:], form)
				if i < 0 {
					break
				}
				start, end := off+i, off+i+len(form)
				off = start + 1
				if !boundary(text, start, end) {
					continue
				}
				spans = append(spans, span{runStart(text, start), runEnd(text, end)})
			}
		}
	}
	if len(spans) == 0 {
		return text
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		sp := spans[i]
		for i++; i < len(spans) && spans[i].start <= sp.end; i++ {
			sp.end = max(sp.end, spans[i].end)
		}
		b.WriteString(text[last:sp.start])
		b.WriteString(Redacted)
		last = sp.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// forms are the ways a secret is echoed, distinct and longest first.
func forms(v string) []string {
	var x strings.Builder
	_ = xml.EscapeText(&x, []byte(v))
	js, _ := json.Marshal(v)
	all := []string{
		v, x.String(), string(js[1 : len(js)-1]), html.EscapeString(v),
		strings.Trim(strconv.Quote(v), `"`), strings.Trim(strconv.QuoteToASCII(v), `"`),
		url.QueryEscape(v), url.PathEscape(v),
		hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v))),
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range all {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// boundary reports whether text[start:end] stands as a word of its own: a
// word character at either edge must not continue one in the text.
func boundary(text string, start, end int) bool {
	first, _ := utf8.DecodeRuneInString(text[start:])
	last, _ := utf8.DecodeLastRuneInString(text[:end])
	before, _ := utf8.DecodeLastRuneInString(text[:start])
	after, _ := utf8.DecodeRuneInString(text[end:])
	if start > 0 && isWord(first) && isWord(before) {
		return false
	}
	if end < len(text) && isWord(last) && isWord(after) {
		return false
	}
	return true
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// runStart and runEnd widen a match to the whitespace around it.
func runStart(text string, i int) int {
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:i])
		if unicode.IsSpace(r) {
			break
		}
		i -= n
	}
	return i
}

func runEnd(text string, i int) int {
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}
