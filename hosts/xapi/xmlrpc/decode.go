package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// UnmarshalCall decodes a <methodCall> into its method name and parameters.
func UnmarshalCall(data []byte) (method string, params []any, err error) {
	p, err := newDecoder(data)
	if err != nil {
		return "", nil, err
	}
	defer p.putMembers()
	return p.call()
}

// UnmarshalResponse decodes a <methodResponse> into its single value. A
// <fault> response returns a *Fault error. An empty <params/> decodes as nil.
func UnmarshalResponse(data []byte) (any, error) {
	p, err := newDecoder(data)
	if err != nil {
		return nil, err
	}
	defer p.putMembers()
	return p.response()
}

// DecodeResponse is UnmarshalResponse reading from r as it decodes, so
// that a reply that meets a limit (depth, values, memory) is refused
// without being read further. size is the reply's length when known (an
// HTTP Content-Length), else -1: the memory it may cost is then bounded by
// what has been read so far.
func DecodeResponse(r io.Reader, size int64) (any, error) {
	p, err := newStreamDecoder(r, size)
	if err != nil {
		return nil, err
	}
	defer p.release()
	return p.response()
}

// DecodeCall is UnmarshalCall reading from r as DecodeResponse does.
func DecodeCall(r io.Reader, size int64) (method string, params []any, err error) {
	p, err := newStreamDecoder(r, size)
	if err != nil {
		return "", nil, err
	}
	defer p.release()
	return p.call()
}

// newStreamDecoder is newDecoder for a message read from r as it is
// decoded; size is its length when known, else -1.
func newStreamDecoder(r io.Reader, size int64) (*scanner, error) {
	if size > MaxMessageSize {
		return nil, fmt.Errorf("xmlrpc: message of %d bytes exceeds the %d byte limit", size, MaxMessageSize)
	}
	p := streamScanners.Get().(*scanner)
	*p = scanner{buf: p.buf[:0], r: r, max: MaxMessageSize, budget: -1}
	p.init()
	if size >= 0 {
		p.max, p.budget = size, memoryFactor*size+memorySlack
	}
	return p, nil
}

// streamScanners keeps streaming scanners, and their buffers, for the
// next message: a reply's decoding then allocates only what it returns,
// none of which shares memory with the scanner.
var streamScanners = sync.Pool{New: func() any { return new(scanner) }}

// release gives a streaming scanner back, with its buffer unless that grew
// large, and without the reader.
func (p *scanner) release() {
	buf := p.buf[:0]
	if cap(buf) > 2*readChunk {
		buf = nil
	}
	p.putMembers()
	*p = scanner{buf: buf}
	streamScanners.Put(p)
}

func newDecoder(data []byte) (*scanner, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("xmlrpc: message of %d bytes exceeds the %d byte limit", len(data), MaxMessageSize)
	}
	return (&scanner{buf: data, read: int64(len(data)), max: int64(len(data)), budget: memoryFactor*int64(len(data)) + memorySlack}).init(), nil
}

func (p *scanner) call() (method string, params []any, err error) {
	if method, params, ok := p.fastCall(); ok {
		return method, params, nil
	}
	if err := p.expectStart("methodCall"); err != nil {
		return "", nil, err
	}
	if err := p.expectStart("methodName"); err != nil {
		return "", nil, err
	}
	name, err := p.textValue()
	if err != nil {
		return "", nil, err
	}
	method = strings.TrimSpace(name)
	if method == "" {
		return "", nil, errors.New("xmlrpc: empty methodName")
	}
	params = []any{}
	t, err := p.element()
	if err != nil {
		return "", nil, err
	}
	if t.kind == tokStart {
		if t.local != "params" {
			return "", nil, fmt.Errorf("xmlrpc: unexpected <%s> in methodCall", clip(t.local))
		}
		if params, err = p.params(); err != nil {
			return "", nil, err
		}
		if err := p.expectEnd(); err != nil {
			return "", nil, err
		}
	}
	if err := p.eof(); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

func (p *scanner) response() (any, error) {
	if v, ok := p.fastResponse(); ok {
		return v, nil
	}
	if err := p.expectStart("methodResponse"); err != nil {
		return nil, err
	}
	start, err := p.nextStart()
	if err != nil {
		return nil, err
	}
	var v any
	var fault *Fault
	switch start.local {
	case "params":
		params, err := p.params()
		if err != nil {
			return nil, err
		}
		if len(params) > 1 {
			return nil, fmt.Errorf("xmlrpc: response has %d params, want 1", len(params))
		}
		if len(params) == 1 {
			v = params[0]
		}
	case "fault":
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		fv, err := p.value()
		if err != nil {
			return nil, err
		}
		if fault, err = toFault(fv); err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("xmlrpc: unexpected <%s> in methodResponse", clip(start.local))
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	if err := p.eof(); err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, fault
	}
	return v, nil
}

// toFault reads the {faultCode, faultString} struct of a <fault>.
func toFault(v any) (*Fault, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("xmlrpc: fault value is %T, want a struct", v)
	}
	f := &Fault{}
	switch c := m["faultCode"].(type) {
	case int64:
		f.Code = int(c)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("xmlrpc: bad faultCode %q", clip(c))
		}
		f.Code = n
	case nil:
	default:
		return nil, fmt.Errorf("xmlrpc: faultCode is %T", c)
	}
	if s, ok := m["faultString"].(string); ok {
		f.Message = s
	}
	return f, nil
}

// Estimated bytes a decoded value keeps, by kind, on 64-bit Go (measured
// with TestDecoderMemoryIsBoundedBySize): an interface slot in its
// parent; a boxed string's header; a map's header, its first group of 8
// slots, and each further member with its share of growth; a slice's
// header and each element with its share of growth; a boxed number or
// time.
const (
	costValue       = 16
	costString      = 16
	costStruct      = 48
	costFirstMember = 264
	costMember      = 64
	costArray       = 24
	costElement     = 32
	costScalar      = 24
)

// tok returns the next token, checking element nesting as encoding/xml's
// strict mode does (an end tag closes the innermost open element, which
// has the same name); running out of input is an error here, since only
// eof may legitimately meet the end.
func (p *scanner) tok() (token, error) {
	if p.pendingEnd {
		p.pendingEnd = false
		t := p.open[len(p.open)-1]
		p.open = p.open[:len(p.open)-1]
		return token{kind: tokEnd, name: t.name, local: t.local}, nil
	}
	t, err := p.next()
	if err != nil {
		return token{}, err
	}
	switch t.kind {
	case tokEOF:
		if len(p.open) > 0 {
			return token{}, syntaxErr("unexpected EOF")
		}
		return token{}, fmt.Errorf("xmlrpc: truncated message: %w", io.ErrUnexpectedEOF)
	case tokStart:
		p.open = append(p.open, openElement{t.name, t.local})
		p.pendingEnd = t.empty
	case tokEnd:
		if len(p.open) == 0 {
			return token{}, syntaxErr("unexpected end element </" + clip(t.local) + ">")
		}
		if top := p.open[len(p.open)-1]; top.name != t.name {
			return token{}, syntaxErr("element <" + clip(top.local) + "> closed by </" + clip(t.local) + ">")
		}
		p.open = p.open[:len(p.open)-1]
	}
	return t, nil
}

// openElement is an element whose end tag is still to come.
type openElement struct{ name, local string }

// element returns the next start or end element, skipping whitespace,
// comments, processing instructions and directives. Other text is an error.
func (p *scanner) element() (token, error) {
	for {
		t, err := p.tok()
		if err != nil {
			return token{}, err
		}
		switch t.kind {
		case tokStart, tokEnd:
			return t, nil
		case tokText:
			if len(bytes.TrimSpace(p.text)) != 0 {
				return token{}, fmt.Errorf("xmlrpc: unexpected text %q", clip(string(p.text)))
			}
		}
	}
}

// nextStart returns the next element, which must be a start element.
func (p *scanner) nextStart() (token, error) {
	t, err := p.element()
	if err != nil {
		return token{}, err
	}
	if t.kind != tokStart {
		return token{}, fmt.Errorf("xmlrpc: unexpected </%s>", clip(t.local))
	}
	return t, nil
}

func (p *scanner) expectStart(name string) error {
	t, err := p.nextStart()
	if err != nil {
		return err
	}
	if t.local != name {
		return fmt.Errorf("xmlrpc: got <%s>, want <%s>", clip(t.local), name)
	}
	return nil
}

// expectEnd consumes the end tag of the innermost open element (tok
// checks that it matches).
func (p *scanner) expectEnd() error {
	t, err := p.element()
	if err != nil {
		return err
	}
	if t.kind == tokStart {
		return fmt.Errorf("xmlrpc: unexpected <%s>", clip(t.local))
	}
	return nil
}

// eof checks that nothing but whitespace, comments or processing
// instructions follows the root element.
func (p *scanner) eof() error {
	for {
		t, err := p.next()
		if err != nil {
			return fmt.Errorf("xmlrpc: after the root element: %w", err)
		}
		switch t.kind {
		case tokEOF:
			return nil
		case tokStart:
			return fmt.Errorf("xmlrpc: unexpected <%s> after the root element", clip(t.local))
		case tokEnd:
			return fmt.Errorf("xmlrpc: after the root element: %w", syntaxErr("unexpected end element </"+clip(t.local)+">"))
		case tokText:
			if len(bytes.TrimSpace(p.text)) != 0 {
				return fmt.Errorf("xmlrpc: unexpected text %q after the root element", clip(string(p.text)))
			}
		}
	}
}

// textValue reads character data up to the end of the current element,
// which must have no child elements.
func (p *scanner) textValue() (string, error) {
	var b textBuilder
	for {
		t, err := p.tok()
		if err != nil {
			return "", err
		}
		switch t.kind {
		case tokText:
			if err := p.charge(len(p.text)); err != nil {
				return "", err
			}
			b.add(p.text)
		case tokStart:
			return "", fmt.Errorf("xmlrpc: unexpected <%s> in text", clip(t.local))
		case tokEnd:
			return b.String(), nil
		}
	}
}

// textBuilder collects an element's character data. Text usually comes
// as one token: that is copied once, without an intermediate buffer.
type textBuilder struct {
	first string
	more  []byte
	n     int
}

func (b *textBuilder) add(t []byte) {
	switch b.n++; b.n {
	case 1:
		b.first = string(t)
	case 2:
		b.more = append([]byte(b.first), t...)
	default:
		b.more = append(b.more, t...)
	}
}

func (b *textBuilder) String() string {
	if b.n > 1 {
		return string(b.more)
	}
	return b.first
}

// params reads <param><value>...</value></param>* up to </params>.
func (p *scanner) params() ([]any, error) {
	out := []any{}
	for {
		t, err := p.element()
		if err != nil {
			return nil, err
		}
		if t.kind != tokStart {
			return out, nil
		}
		if t.local != "param" {
			return nil, fmt.Errorf("xmlrpc: got <%s>, want <param>", clip(t.local))
		}
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// value decodes the content of a <value> element whose start tag has been
// read, through its end tag: the nesting depth is checked here, before
// anything inside is read.
func (p *scanner) value() (any, error) {
	if v, ok := p.fastValue(); ok {
		return v, nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, &LimitError{Limit: "depth", Max: maxDepth}
	}
	if p.values++; p.values > maxValues {
		return nil, &LimitError{Limit: "values", Max: int64(maxValues)}
	}
	if err := p.charge(costValue); err != nil {
		return nil, err
	}
	var text textBuilder
	for {
		t, err := p.tok()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tokText:
			if err := p.charge(len(p.text)); err != nil {
				return nil, err
			}
			text.add(p.text)
		case tokEnd:
			if err := p.charge(costString); err != nil {
				return nil, err
			}
			return text.String(), nil // a bare string
		case tokStart:
			if strings.TrimSpace(text.String()) != "" {
				return nil, fmt.Errorf("xmlrpc: text mixed with <%s> in a value", clip(t.local))
			}
			v, err := p.typed(t.local)
			if err != nil {
				return nil, err
			}
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

// typed decodes one typed element (<string>, <int>, <struct>, ...) whose
// start tag has been read, through its end tag.
func (p *scanner) typed(kind string) (any, error) {
	switch kind {
	case "array":
		return p.array()
	case "struct":
		return p.structure()
	}
	s, err := p.textValue()
	if err != nil {
		return nil, err
	}
	return scalar(kind, s, p.charge)
}

// scalar converts the text of a typed element other than an array or a
// struct, charging what it keeps.
func scalar(kind, s string, charge func(int) error) (any, error) {
	var err error
	switch kind {
	case "string":
		err = charge(costString)
	case "base64":
		err = charge(costArray)
	case "nil", "boolean":
	default:
		err = charge(costScalar)
	}
	if err != nil {
		return nil, err
	}
	switch kind {
	case "string":
		return s, nil
	case "i4", "int", "i8":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("xmlrpc: bad <%s> %q", kind, clip(s))
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(s) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, fmt.Errorf("xmlrpc: bad <boolean> %q", clip(s))
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("xmlrpc: bad <double> %q", clip(s))
		}
		return f, nil
	case "dateTime.iso8601":
		return parseDateTime(s)
	case "base64":
		return decodeBase64(s)
	case "nil":
		if strings.TrimSpace(s) != "" {
			return nil, fmt.Errorf("xmlrpc: text in <nil/>")
		}
		return nil, nil
	}
	return nil, fmt.Errorf("xmlrpc: unknown value type <%s>", clip(kind))
}

// array reads <data><value>...</value>*</data></array>; an empty <array/>
// is accepted too.
func (p *scanner) array() ([]any, error) {
	out := []any{}
	if err := p.charge(costArray); err != nil {
		return nil, err
	}
	t, err := p.element()
	if err != nil {
		return nil, err
	}
	if t.kind != tokStart {
		return out, nil
	}
	if t.local != "data" {
		return nil, fmt.Errorf("xmlrpc: got <%s> in array, want <data>", clip(t.local))
	}
	for {
		t, err := p.element()
		if err != nil {
			return nil, err
		}
		if t.kind != tokStart {
			break
		}
		if t.local != "value" {
			return nil, fmt.Errorf("xmlrpc: got <%s> in array data, want <value>", clip(t.local))
		}
		if err := p.charge(costElement); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return out, nil
}

// structure reads <member>* up to </struct>. A repeated name keeps the last
// value.
func (p *scanner) structure() (map[string]any, error) {
	out := map[string]any{}
	if err := p.charge(costStruct); err != nil {
		return nil, err
	}
	for {
		t, err := p.element()
		if err != nil {
			return nil, err
		}
		if t.kind != tokStart {
			return out, nil
		}
		if t.local != "member" {
			return nil, fmt.Errorf("xmlrpc: got <%s> in struct, want <member>", clip(t.local))
		}
		cost := costMember
		if len(out) == 0 {
			cost = costFirstMember
		}
		if err := p.charge(cost); err != nil {
			return nil, err
		}
		name, v, err := p.member()
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
}

// member reads one struct member's <name> and <value>, in either order.
func (p *scanner) member() (string, any, error) {
	var name string
	var v any
	var haveName, haveValue bool
	for {
		t, err := p.element()
		if err != nil {
			return "", nil, err
		}
		if t.kind != tokStart {
			break
		}
		switch {
		case t.local == "name" && !haveName:
			if name, err = p.textValue(); err != nil {
				return "", nil, err
			}
			haveName = true
		case t.local == "value" && !haveValue:
			if v, err = p.value(); err != nil {
				return "", nil, err
			}
			haveValue = true
		default:
			return "", nil, fmt.Errorf("xmlrpc: unexpected <%s> in struct member", clip(t.local))
		}
	}
	if !haveName || !haveValue {
		return "", nil, fmt.Errorf("xmlrpc: struct member %q lacks a name or a value", clip(name))
	}
	return name, v, nil
}

// decodeBase64 decodes <base64> text, ignoring whitespace and tolerating
// missing padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("xmlrpc: bad <base64>: %w", err)
		}
	}
	return b, nil
}

// charsetReader lets documents declare the encodings xapi peers use besides
// UTF-8: US-ASCII and ISO-8859-1 (each byte is one code point). The
// conversion streams: it never holds the converted document.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8":
		return input, nil
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return &latin1Reader{r: input}, nil
	}
	return nil, fmt.Errorf("xmlrpc: unsupported charset %q", clip(charset))
}

// latin1Reader converts ISO-8859-1 to UTF-8 as it is read.
type latin1Reader struct {
	r   io.Reader
	buf [2048]byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(p) < 2 {
		return 0, io.ErrShortBuffer
	}
	n, err := l.r.Read(l.buf[:min(len(p)/2, len(l.buf))])
	out := p[:0]
	for _, c := range l.buf[:n] {
		out = utf8.AppendRune(out, rune(c))
	}
	return len(out), err
}

// charsetIsLatin1 says whether a declared encoding other than UTF-8 is
// one each byte of which is a code point (charsetReader), or an error for
// one this package does not read.
func charsetIsLatin1(charset string) (bool, error) {
	r, err := charsetReader(charset, nil)
	if err != nil {
		return false, err
	}
	_, latin1 := r.(*latin1Reader)
	return latin1, nil
}
