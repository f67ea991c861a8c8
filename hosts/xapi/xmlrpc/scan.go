package xmlrpc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The decoder reads XML-RPC straight from its bytes, without encoding/xml's
// tokens (a string per name and per text, an interface per token): it
// reads the XML that XML-RPC peers send the way encoding/xml does in its
// strict mode (the same syntax errors for the same input: names, attributes
// read and ignored, entities, CDATA, comments, processing instructions,
// directives, CR-LF folding, UTF-8 and XML character checks, an
// <?xml encoding?> switch), which FuzzDecodersAgree checks against a
// decoder built on encoding/xml. It reads from a reader as it decodes, so
// that a limit met (depth, values, memory) stops the reading.

// readChunk is how much the decoder asks its reader for at once, and
// minRead the least.
const (
	readChunk = 32 << 10
	minRead   = 512
)

// scanner holds the input: buf[pos:] is what is read and not consumed;
// r, until it ends, has more.
type scanner struct {
	buf  []byte
	pos  int
	r    io.Reader
	rerr error // the reader's error other than io.EOF
	read int64 // bytes read from r
	max  int64 // the most r may give

	depth  int
	values int
	cost   int64
	budget int64 // the most cost may reach; <0: memoryFactor times what was read, plus memorySlack
	text   []byte

	open       []openElement // elements whose end tag is still to come
	pendingEnd bool          // the last start tag was <x/>: its end comes next

	// The fast path (fast.go): mark is where in buf it started, which more
	// keeps (-1 when it is not running), up to fastSpan bytes from there;
	// fastFrom the offset in the input from which it may run again after
	// it gave up.
	mark     int
	fastFrom int64
	members  *[]member // of the structs the fast path is in, innermost last (memberStacks)

	// Room for the usual depth and text, so that a small message needs
	// no allocation for them.
	openRoom [24]openElement
	textRoom [256]byte
}

// init points the scanner's stack and text at its own room.
func (s *scanner) init() *scanner {
	s.open, s.text = s.openRoom[:0], s.textRoom[:0]
	s.mark = -1
	return s
}

// more reads from r into buf, keeping buf[pos:]; false when r has ended
// (or failed: rerr).
func (s *scanner) more() bool {
	if s.r == nil {
		return false
	}
	if keep := s.keep(); keep > 0 && keep >= len(s.buf)/2 {
		n := copy(s.buf, s.buf[keep:])
		s.buf = s.buf[:n]
		s.pos -= keep
		if s.mark >= 0 {
			s.mark -= keep
		}
	}
	if cap(s.buf)-len(s.buf) < minRead {
		if s.mark >= 0 && len(s.buf)-s.mark >= fastSpan {
			return false // the fast path gives up rather than hold more
		}
		// The first read: as big as the message when its size is known
		// (most replies are small), else a chunk; then doubling.
		size := 2*cap(s.buf) + readChunk
		if cap(s.buf) == 0 && s.max < readChunk {
			size = int(s.max) + minRead
		}
		nb := make([]byte, len(s.buf), size)
		copy(nb, s.buf)
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		s.read += int64(n)
		if s.read > s.max {
			s.rerr = fmt.Errorf("xmlrpc: message exceeds the %d byte limit", s.max)
			s.r = nil
			return false
		}
		if err != nil {
			if err != io.EOF {
				s.rerr = err
			}
			s.r = nil
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// keep is where in buf what is still needed starts: pos, or the fast
// path's mark before it.
func (s *scanner) keep() int {
	if s.mark >= 0 && s.mark < s.pos {
		return s.mark
	}
	return s.pos
}

// avail makes at least n bytes available at buf[pos:] if the input has
// them, and says whether it did.
func (s *scanner) avail(n int) bool {
	for len(s.buf)-s.pos < n {
		if !s.more() {
			return false
		}
	}
	return true
}

// index is the offset from pos of the next c, reading as needed, or -1.
func (s *scanner) index(c byte) int {
	from := 0
	for {
		if i := bytes.IndexByte(s.buf[s.pos+from:], c); i >= 0 {
			return from + i
		}
		from = len(s.buf) - s.pos
		if !s.more() {
			return -1
		}
	}
}

// indexOf is the offset from pos of the next sep, reading as needed, or -1.
func (s *scanner) indexOf(sep string) int {
	from := 0
	for {
		if i := bytes.Index(s.buf[s.pos+from:], []byte(sep)); i >= 0 {
			return from + i
		}
		from = max(0, len(s.buf)-s.pos-len(sep)+1)
		if !s.more() {
			return -1
		}
	}
}

// eofErr is the error for input that ends where more was needed.
func (s *scanner) eofErr() error {
	if s.rerr != nil {
		return fmt.Errorf("xmlrpc: reading the message: %w", s.rerr)
	}
	return fmt.Errorf("xmlrpc: truncated message: %w", io.ErrUnexpectedEOF)
}

func syntaxErr(msg string) error { return errors.New("xmlrpc: XML syntax error: " + msg) }

func (s *scanner) charge(n int) error {
	s.cost += int64(n)
	budget := s.budget
	if budget < 0 {
		budget = memoryFactor*s.read + memorySlack
	}
	if s.cost > budget {
		return &LimitError{Limit: "memory", Max: budget}
	}
	return nil
}

// Token kinds of next.
const (
	tokStart = iota
	tokEnd
	tokText // character data (in s.text) or CDATA
	tokSkip // comment, processing instruction or directive
	tokEOF
)

// token is one markup item; name is the element's whole name (prefix
// included), local its local part, as encoding/xml splits them.
type token struct {
	kind  int
	name  string
	local string
	empty bool // <x/>: its end follows
}

// knownName returns XML-RPC's own element name that raw spells, without
// a copy, or false.
func knownName(raw []byte) (string, bool) {
	switch string(raw) { // compared in place: no string is made
	case "value":
		return "value", true
	case "member":
		return "member", true
	case "name":
		return "name", true
	case "struct":
		return "struct", true
	case "array":
		return "array", true
	case "data":
		return "data", true
	case "string":
		return "string", true
	case "param":
		return "param", true
	case "params":
		return "params", true
	case "int":
		return "int", true
	case "i4":
		return "i4", true
	case "i8":
		return "i8", true
	case "boolean":
		return "boolean", true
	case "double":
		return "double", true
	case "nil":
		return "nil", true
	case "base64":
		return "base64", true
	case "dateTime.iso8601":
		return "dateTime.iso8601", true
	case "methodResponse":
		return "methodResponse", true
	case "methodCall":
		return "methodCall", true
	case "methodName":
		return "methodName", true
	case "fault":
		return "fault", true
	}
	return "", false
}

// name reads an XML name as encoding/xml does: ASCII name bytes and any
// non-ASCII byte, then checks it (non-ASCII ones by encoding/xml itself,
// whose tables this package does not repeat). ok is false when no name
// starts here.
func (s *scanner) name() (name string, ok, known bool, err error) {
	i := 0
scan:
	for {
		for _, c := range s.buf[s.pos+i:] {
			if c < utf8.RuneSelf && !nameByte[c] {
				break scan
			}
			i++
		}
		if !s.more() {
			return "", false, false, s.eofErr()
		}
	}
	if i == 0 {
		return "", false, false, nil
	}
	raw := s.buf[s.pos : s.pos+i]
	if name, known = knownName(raw); !known {
		name = string(raw)
		if !validName(name) {
			return "", false, false, syntaxErr("invalid XML name: " + clip(name))
		}
	}
	s.pos += i
	return name, true, known, nil
}

// nameByte holds the ASCII bytes encoding/xml reads as part of a name.
var nameByte = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
	}
	return t
}()

// validName checks a name read by name: ASCII by the XML rules, others
// through encoding/xml.
func validName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= utf8.RuneSelf {
			return xmlAcceptsName(n)
		}
		if i == 0 && !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
			return false
		}
	}
	return n != ""
}

// xmlAcceptsName asks encoding/xml whether n (name bytes and non-ASCII
// bytes, at most one colon) is a name.
func xmlAcceptsName(n string) bool {
	if strings.Count(n, ":") > 1 {
		n = strings.ReplaceAll(n, ":", "_") // the colons are checked by the caller
	}
	_, err := xml.NewDecoder(strings.NewReader("<" + n + "/>")).Token()
	return err == nil
}

// nsname reads an element or attribute name and splits it as encoding/xml
// does: one colon between two non-empty parts makes a prefix.
func (s *scanner) nsname() (name, local string, ok bool, err error) {
	var known bool
	name, ok, known, err = s.name()
	if !ok || err != nil {
		return "", "", ok, err
	}
	if known { // XML-RPC's own, without a colon
		return name, name, true, nil
	}
	if strings.Count(name, ":") > 1 {
		return "", "", false, nil
	}
	if space, l, found := strings.Cut(name, ":"); found && space != "" && l != "" {
		return name, l, true, nil
	}
	return name, name, true, nil
}

// space skips what encoding/xml's space skips.
func (s *scanner) space() {
	for {
		if !s.avail(1) {
			return
		}
		switch s.buf[s.pos] {
		case ' ', '\r', '\n', '\t':
			s.pos++
		default:
			return
		}
	}
}

// next reads the next token. Text is decoded into s.text.
func (s *scanner) next() (token, error) {
	if !s.avail(1) {
		if s.rerr != nil {
			return token{}, s.eofErr()
		}
		return token{kind: tokEOF}, nil
	}
	if s.buf[s.pos] != '<' {
		if err := s.textRun(); err != nil {
			return token{}, err
		}
		return token{kind: tokText}, nil
	}
	if !s.avail(2) {
		return token{}, s.eofErr()
	}
	switch s.buf[s.pos+1] {
	case '/':
		s.pos += 2
		name, local, ok, err := s.nsname()
		if err != nil {
			return token{}, err
		}
		if !ok {
			return token{}, syntaxErr("expected element name after </")
		}
		s.space()
		if !s.avail(1) {
			return token{}, s.eofErr()
		}
		if s.buf[s.pos] != '>' {
			return token{}, syntaxErr("invalid characters between </" + clip(local) + " and >")
		}
		s.pos++
		return token{kind: tokEnd, name: name, local: local}, nil
	case '?':
		s.pos += 2
		return token{kind: tokSkip}, s.procInst()
	case '!':
		s.pos += 2
		return s.bang()
	}
	s.pos++
	name, local, ok, err := s.nsname()
	if err != nil {
		return token{}, err
	}
	if !ok {
		return token{}, syntaxErr("expected element name after <")
	}
	t := token{kind: tokStart, name: name, local: local}
	for {
		s.space()
		if !s.avail(1) {
			return token{}, s.eofErr()
		}
		switch s.buf[s.pos] {
		case '/':
			if !s.avail(2) {
				return token{}, s.eofErr()
			}
			if s.buf[s.pos+1] != '>' {
				return token{}, syntaxErr("expected /> in element")
			}
			s.pos += 2
			t.empty = true
			return t, nil
		case '>':
			s.pos++
			return t, nil
		}
		if err := s.attribute(); err != nil {
			return token{}, err
		}
	}
}

// attribute reads (and drops) one attribute: name, '=', a quoted value.
func (s *scanner) attribute() error {
	_, _, ok, err := s.nsname()
	if err != nil {
		return err
	}
	if !ok {
		return syntaxErr("expected attribute name in element")
	}
	s.space()
	if !s.avail(1) {
		return s.eofErr()
	}
	if s.buf[s.pos] != '=' {
		return syntaxErr("attribute name without = in element")
	}
	s.pos++
	s.space()
	if !s.avail(1) {
		return s.eofErr()
	}
	q := s.buf[s.pos]
	if q != '"' && q != '\'' {
		return syntaxErr("unquoted or missing attribute value in element")
	}
	s.pos++
	end := s.index(q)
	if end < 0 {
		return s.eofErr()
	}
	raw := s.buf[s.pos : s.pos+end]
	if bytes.IndexByte(raw, '<') >= 0 {
		return syntaxErr("unescaped < inside quoted string")
	}
	var err2 error
	s.text, err2 = decodeText(s.text[:0], raw, inAttr)
	if err2 != nil {
		return err2
	}
	s.pos += end + 1
	return nil
}

// procInst reads a processing instruction after "<?"; <?xml?> is checked
// for its version and switches the input's encoding as encoding/xml does.
func (s *scanner) procInst() error {
	target, ok, _, err := s.name()
	if err != nil {
		return err
	}
	if !ok {
		return syntaxErr("expected target name after <?")
	}
	s.space()
	end := s.indexOf("?>")
	if end < 0 {
		return s.eofErr()
	}
	content := string(s.buf[s.pos : s.pos+end])
	s.pos += end + 2
	if target != "xml" {
		return nil
	}
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		return fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", clip(ver))
	}
	enc := procInstParam("encoding", content)
	if enc == "" || strings.EqualFold(enc, "utf-8") {
		return nil
	}
	latin1, err := charsetIsLatin1(enc)
	if err != nil {
		return fmt.Errorf("xml: opening charset %q: %w", clip(enc), err)
	}
	if !latin1 {
		return nil
	}
	// ISO-8859-1 (or ASCII): the rest of the input, converted.
	rest := s.buf[s.pos:]
	if s.r == nil {
		s.buf = latin1ToUTF8(nil, rest)
		s.pos = 0
		return nil
	}
	s.r = &latin1Reader{r: io.MultiReader(bytes.NewReader(append([]byte(nil), rest...)), s.r)}
	s.buf, s.pos = s.buf[:0], 0
	s.max = 2*s.max + 2 // each byte becomes at most two
	return nil
}

func latin1ToUTF8(dst, src []byte) []byte {
	for _, c := range src {
		dst = utf8.AppendRune(dst, rune(c))
	}
	return dst
}

// procInstParam finds param="value" (or 'value') in a processing
// instruction's content as encoding/xml's own lookup does: the first
// occurrence of param= followed by a quote, up to the same quote.
func procInstParam(param, s string) string {
	key := param + "="
	i := 0
	var quote byte
	for i < len(s) {
		k := strings.Index(s[i:], key)
		if k < 0 || i+k+len(key) >= len(s) {
			return ""
		}
		c := s[i+k+len(key)]
		i += k + len(key) + 1
		if c == '\'' || c == '"' {
			quote = c
			break
		}
	}
	if quote == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], quote)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment, a CDATA section (text) or a
// directive.
func (s *scanner) bang() (token, error) {
	if !s.avail(1) {
		return token{}, s.eofErr()
	}
	switch s.buf[s.pos] {
	case '-':
		if !s.avail(2) {
			return token{}, s.eofErr()
		}
		if s.buf[s.pos+1] != '-' {
			return token{}, syntaxErr("invalid sequence <!- not part of <!--")
		}
		s.pos += 2
		end := s.indexOf("--")
		if end < 0 || !s.avail(end+3) {
			return token{}, s.eofErr()
		}
		if s.buf[s.pos+end+2] != '>' {
			return token{}, syntaxErr(`invalid sequence "--" not allowed in comments`)
		}
		s.pos += end + 3
		return token{kind: tokSkip}, nil
	case '[':
		if !s.avail(7) {
			return token{}, s.eofErr()
		}
		if string(s.buf[s.pos+1:s.pos+7]) != "CDATA[" {
			return token{}, syntaxErr("invalid <![ sequence")
		}
		s.pos += 7
		end := s.indexOf("]]>")
		if end < 0 {
			s.pos = len(s.buf)
			if s.rerr != nil {
				return token{}, s.eofErr()
			}
			return token{}, syntaxErr("unexpected EOF in CDATA section")
		}
		var err error
		s.text, err = decodeText(s.text[:0], s.buf[s.pos:s.pos+end], inCDATA)
		if err != nil {
			return token{}, err
		}
		s.pos += end + 3
		return token{kind: tokText}, nil
	}
	return token{kind: tokSkip}, s.directive()
}

// directive skips <!DOCTYPE ...> and the like as encoding/xml reads them:
// up to the '>' that closes it, quotes and nested <...> and <!--...-->
// included. pos is at its first byte, which is taken as it is.
func (s *scanner) directive() error {
	i := 1
	get := func() (byte, bool) {
		if !s.avail(i + 1) {
			return 0, false
		}
		c := s.buf[s.pos+i]
		i++
		return c, true
	}
	var inquote byte
	depth := 0
	for {
		b, ok := get()
		if !ok {
			return s.eofErr()
		}
		if inquote == 0 && b == '>' && depth == 0 {
			s.pos += i
			return nil
		}
	handle:
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			matched := true
			for k := 0; k < 3; k++ {
				if b, ok = get(); !ok {
					return s.eofErr()
				}
				if b != "!--"[k] {
					matched = false
					break
				}
			}
			if !matched {
				depth++
				goto handle
			}
			var b0, b1 byte
			for {
				if b, ok = get(); !ok {
					return s.eofErr()
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
		}
	}
}

// textRun decodes character data up to the next '<' (or the end) into
// s.text.
func (s *scanner) textRun() error {
	end := s.index('<')
	if end < 0 {
		end = len(s.buf) - s.pos
		if s.rerr != nil {
			return s.eofErr()
		}
	}
	var err error
	s.text, err = decodeText(s.text[:0], s.buf[s.pos:s.pos+end], inText)
	s.pos += end
	return err
}

// Where decodeText's input comes from.
const (
	inText = iota
	inCDATA
	inAttr
)

// notPlain marks the bytes that decodeText must look at: entities, CR,
// "]]>", control characters and all of UTF-8's multi-byte sequences.
var notPlain = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '&' || c == '\r' || c == ']' || c >= utf8.RuneSelf || c < 0x20
	}
	return t
}()

// decodeText appends raw character data (text, CDATA or an attribute
// value) to dst as encoding/xml decodes it: entities (outside CDATA),
// CR and CR LF as LF, "]]>" refused in text; then every character must be
// UTF-8 and allowed in XML.
func decodeText(dst, raw []byte, where int) ([]byte, error) {
	cdata := where == inCDATA
	start := len(dst)
	plain := true
	for _, c := range raw {
		if notPlain[c] {
			plain = false
			break
		}
	}
	if plain { // the usual case: printable ASCII
		return append(dst, raw...), nil
	}
	var b0, b1 byte
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if where == inText && b0 == ']' && b1 == ']' && b == '>' {
			return nil, syntaxErr("unescaped ]]> not in CDATA section")
		}
		if b == '&' && !cdata {
			n, r, ok := entity(raw[i:])
			if !ok {
				return nil, syntaxErr("invalid character entity " + clip(string(raw[i:i+n])))
			}
			dst = append(dst, r...)
			i += n - 1
			b0, b1 = 0, 0
			continue
		}
		switch {
		case b == '\r':
			dst = append(dst, '\n')
		case b1 == '\r' && b == '\n':
		default:
			dst = append(dst, b)
		}
		b0, b1 = b1, b
	}
	for buf := dst[start:]; len(buf) > 0; {
		if buf[0] < utf8.RuneSelf {
			if c := buf[0]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return nil, syntaxErr(fmt.Sprintf("illegal character code %U", rune(c)))
			}
			buf = buf[1:]
			continue
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size == 1 {
			return nil, syntaxErr("invalid UTF-8")
		}
		if !(r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return nil, syntaxErr(fmt.Sprintf("illegal character code %U", r))
		}
		buf = buf[size:]
	}
	return dst, nil
}

// entity reads the entity at the start of raw ('&' first): how many bytes
// it takes and the text it stands for; ok is false for anything but the
// five predefined ones and a numeric reference to a code point, each
// ended by ';' (n then covers what was read).
func entity(raw []byte) (n int, text []byte, ok bool) {
	if len(raw) > 1 && raw[1] == '#' {
		i, base := 2, 10
		if i < len(raw) && raw[i] == 'x' {
			base, i = 16, i+1
		}
		digits := i
		for i < len(raw) && (raw[i] >= '0' && raw[i] <= '9' || base == 16 && (raw[i] >= 'a' && raw[i] <= 'f' || raw[i] >= 'A' && raw[i] <= 'F')) {
			i++
		}
		if i >= len(raw) || raw[i] != ';' {
			return min(i+1, len(raw)), nil, false
		}
		v, err := strconv.ParseUint(string(raw[digits:i]), base, 64)
		if err != nil || v > unicode.MaxRune {
			return i + 1, nil, false
		}
		return i + 1, []byte(string(rune(v))), true
	}
	for _, e := range [...]struct{ name, text string }{{"lt;", "<"}, {"gt;", ">"}, {"amp;", "&"}, {"apos;", "'"}, {"quot;", `"`}} {
		if bytes.HasPrefix(raw[1:], []byte(e.name)) {
			return 1 + len(e.name), []byte(e.text), true
		}
	}
	end := bytes.IndexByte(raw, ';')
	if end < 0 {
		end = len(raw) - 1
	}
	return end + 1, nil, false
}
