package secret

import (
	"encoding/base64"
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

// MinPieceLen is the shortest piece of a longer secret Scrub finds: a
// reply or a log line cut in the middle of a secret still holds MinPieceLen
// characters of it in a row, and those are replaced wherever they stand.
const MinPieceLen = MinScrubLen + 1

// Scrub is the last resort for text from outside xenlab (a server's reply,
// a command's output, a log of domU) that might echo a secret. Code must
// first keep secrets out of messages, URLs and arguments; Scrub is for
// what it cannot control.
//
// It finds a secret of MinScrubLen characters or more in the forms a log
// holds it in:
//   - as written, Go-quoted, JSON-, XML- or HTML-escaped, URL-escaped
//     (query or path) and hex, where it stands as a word of its own (the
//     characters around it are not letters, digits or "_", so a secret is
//     not found inside a longer word);
//   - after undoing the escapes a log may have added, once or twice and in
//     any mix: %xx in either case (so URL-escaping that keeps "/" or
//     escapes more than Go does), &#NN;, &#xNN; and &amp;-style entities,
//     and backslash escapes (\", \\, \n, \xNN, \uNNNN);
//   - base64 and base64url (Authorization: Basic, a token): a secret's
//     base64 depends on where it starts in the encoded bytes, so the part
//     of its encoding that is the same at each of the three alignments is
//     looked for, inside longer base64 text too;
//   - a piece of it of MinPieceLen characters or more (a line cut in the
//     middle of the secret), anywhere, also after undoing escapes.
//
// The whole whitespace-delimited run that holds a match is then replaced
// by Redacted, so what was around it in the same run (".invalid" after a
// host name, the rest of a URL or of a base64 blob) cannot tell it by its
// context: for any text built around a secret, Scrub's result is the same
// whichever secret it was.
//
// Limits: a secret shorter than MinScrubLen is not looked for, nor a piece
// shorter than MinPieceLen; other encodings (gzip, base32, a secret split
// across lines) are not undone; and a secret, or a piece of one, that is
// also ordinary text (a password "password" in "wrong password") is
// replaced there too, which tells it.
func Scrub(text string, secrets ...Secret) string {
	var words, anywhere []string
	pieces := pieceSet{}
	for _, s := range secrets {
		v := s.Reveal()
		if utf8.RuneCountInString(v) < MinScrubLen {
			continue
		}
		words = append(words, forms(v)...)
		anywhere = append(anywhere, base64Cores(v)...)
		pieces.add(v)
	}
	if len(words) == 0 {
		return text
	}
	var spans []span
	for _, vw := range views(text) {
		for _, f := range words {
			spans = vw.find(f, true, spans)
		}
		for _, c := range anywhere {
			spans = vw.find(c, false, spans)
		}
		spans = vw.findPieces(pieces, spans)
	}
	if len(spans) == 0 {
		return text
	}
	for i := range spans {
		spans[i] = span{runStart(text, spans[i].start), runEnd(text, spans[i].end)}
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

type span struct{ start, end int }

// forms are the ways a secret is echoed as a word, distinct and longest
// first.
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

// base64Cores are the parts of v's base64 and base64url encodings that do
// not depend on the bytes around v: for v starting at byte a (0, 1 or 2)
// of a 3-byte group, the characters whose 6 bits all come from v.
func base64Cores(v string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for a := 0; a < 3; a++ {
			e := enc.EncodeToString(append(make([]byte, a), v...))
			first, end := (8*a+5)/6, 8*(a+len(v))/6
			if end-first >= MinScrubLen {
				out = append(out, e[first:end])
			}
		}
	}
	return out
}

// pieceSet holds secrets' pieces of MinPieceLen characters, by their
// length in bytes.
type pieceSet map[int]map[string]bool

// add adds v's pieces, when v is longer than MinPieceLen characters.
func (ps pieceSet) add(v string) {
	var starts []int
	for i := range v {
		starts = append(starts, i)
	}
	starts = append(starts, len(v))
	n := len(starts) - 1 // characters
	if n <= MinPieceLen {
		return
	}
	for i := 0; i+MinPieceLen <= n; i++ {
		p := v[starts[i]:starts[i+MinPieceLen]]
		if ps[len(p)] == nil {
			ps[len(p)] = map[string]bool{}
		}
		ps[len(p)][p] = true
	}
}

// view is text with some escapes undone; start[k] is the offset in the
// original text of the escape byte k of s came from (start[len(s)] is the
// text's length).
type view struct {
	s     string
	start []int32
}

// find appends the spans of the original text that hold f in the view:
// where f stands as a word of its own when word is set.
func (vw view) find(f string, word bool, spans []span) []span {
	for off := 0; off < len(vw.s); {
		i := strings.Index(vw.s[off:], f)
		if i < 0 {
			break
		}
		start, end := off+i, off+i+len(f)
		off = start + 1
		if word && !boundary(vw.s, start, end) {
			continue
		}
		spans = append(spans, vw.orig(start, end))
	}
	return spans
}

// findPieces appends the spans that hold a piece of the secret.
func (vw view) findPieces(ps pieceSet, spans []span) []span {
	for n, set := range ps {
		for i := 0; i+n <= len(vw.s); i++ {
			if set[vw.s[i:i+n]] {
				spans = append(spans, vw.orig(i, i+n))
			}
		}
	}
	return spans
}

// orig maps a span of the view to the original text.
func (vw view) orig(start, end int) span {
	if vw.start == nil {
		return span{start, end}
	}
	a, b := int(vw.start[start]), int(vw.start[end])
	return span{a, max(b, a+1)}
}

// views are text as it is, with each kind of escape undone once, and with
// each undone twice (double escaping: %2521, &amp;#33;, \\\"): at most
// seven, and only those that differ from the text.
func views(text string) []view {
	out := []view{{s: text}}
	for _, dec := range decoders {
		once, ok := decode(dec, out[0])
		if !ok {
			continue
		}
		out = append(out, once)
		if twice, ok := decode(dec, once); ok {
			out = append(out, twice)
		}
	}
	return out
}

// decode applies dec to vw, its offsets mapped to the original text.
func decode(dec func(string) (string, []int), vw view) (view, bool) {
	s, local := dec(vw.s)
	if local == nil {
		return view{}, false
	}
	nv := view{s: s, start: make([]int32, len(local))}
	for k, l := range local {
		nv.start[k] = int32(l)
		if vw.start != nil {
			nv.start[k] = vw.start[l]
		}
	}
	return nv, true
}

// decoders undo one kind of escape. Each returns the decoded text and,
// for each of its bytes and one past the end, the offset in its input the
// byte came from; nil when there was nothing to undo.
var decoders = []func(string) (string, []int){percentDecode, entityDecode, backslashDecode}

// decoded builds a decoder's result.
type decoded struct {
	b     strings.Builder
	start []int
	any   bool
}

func newDecoded(n int) *decoded {
	d := &decoded{start: make([]int, 0, n+1)}
	d.b.Grow(n)
	return d
}

func (d *decoded) lit(s string, at int) {
	for k := range len(s) {
		d.start = append(d.start, at+k)
	}
	d.b.WriteString(s)
}

func (d *decoded) esc(s string, at int) {
	d.any = true
	for range len(s) {
		d.start = append(d.start, at)
	}
	d.b.WriteString(s)
}

func (d *decoded) result(n int) (string, []int) {
	if !d.any {
		return "", nil
	}
	return d.b.String(), append(d.start, n)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode undoes %xx, in either case.
func percentDecode(s string) (string, []int) {
	if !strings.Contains(s, "%") {
		return "", nil
	}
	d := newDecoded(len(s))
	for i := 0; i < len(s); {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					d.esc(string([]byte{h<<4 | l}), i)
					i += 3
					continue
				}
			}
		}
		d.lit(s[i:i+1], i)
		i++
	}
	return d.result(len(s))
}

// entityDecode undoes &#NN;, &#xNN; (the ";" may be missing) and the XML
// entities &amp; &lt; &gt; &quot; &apos;.
func entityDecode(s string) (string, []int) {
	if !strings.Contains(s, "&") {
		return "", nil
	}
	d := newDecoded(len(s))
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n := entity(s[i:]); n > 0 {
				d.esc(string(r), i)
				i += n
				continue
			}
		}
		d.lit(s[i:i+1], i)
		i++
	}
	return d.result(len(s))
}

// entity reads one entity at the start of s: its rune and length (0: none).
func entity(s string) (rune, int) {
	for name, r := range map[string]rune{"&amp;": '&', "&lt;": '<', "&gt;": '>', "&quot;": '"', "&apos;": '\''} {
		if strings.HasPrefix(s, name) {
			return r, len(name)
		}
	}
	if !strings.HasPrefix(s, "&#") {
		return 0, 0
	}
	i, base := 2, 10
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		i, base = 3, 16
	}
	j := i
	for j < len(s) && j-i < 8 {
		if _, ok := unhex(s[j]); !ok || base == 10 && (s[j] < '0' || s[j] > '9') {
			break
		}
		j++
	}
	if j == i {
		return 0, 0
	}
	n, err := strconv.ParseUint(s[i:j], base, 32)
	if err != nil || n > unicode.MaxRune {
		return 0, 0
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	return rune(n), j
}

// backslashDecode undoes \" \' \\ \/ \n \r \t \xNN and \uNNNN.
func backslashDecode(s string) (string, []int) {
	if !strings.Contains(s, `\`) {
		return "", nil
	}
	d := newDecoded(len(s))
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			switch c := s[i+1]; c {
			case '"', '\'', '\\', '/':
				d.esc(string(c), i)
				i += 2
				continue
			case 'n', 'r', 't':
				d.esc(map[byte]string{'n': "\n", 'r': "\r", 't': "\t"}[c], i)
				i += 2
				continue
			case 'x', 'u':
				n := map[byte]int{'x': 2, 'u': 4}[c]
				if i+2+n <= len(s) {
					if v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil {
						if c == 'x' {
							d.esc(string([]byte{byte(v)}), i)
						} else {
							d.esc(string(rune(v)), i)
						}
						i += 2 + n
						continue
					}
				}
			}
		}
		d.lit(s[i:i+1], i)
		i++
	}
	return d.result(len(s))
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

// ScrubError is err with Scrub applied to its text; errors.Is and As still
// see err. For an error that quotes what a command printed (ssh's
// RunError), where the command's output might echo a secret.
func ScrubError(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	return scrubbedError{err, secrets}
}

type scrubbedError struct {
	err     error
	secrets []Secret
}

func (e scrubbedError) Error() string { return Scrub(e.err.Error(), e.secrets...) }
func (e scrubbedError) Unwrap() error { return e.err }
