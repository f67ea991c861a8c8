package xmlrpc

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// The fast path reads a reply or a call (fastResponse, fastCall), or
// else a <value> (fastValue), the way XML-RPC peers spell them (xapi's
// own encoder, Python's xmlrpclib, this package's): XML-RPC's element
// names with no prefix, attributes or spaces inside the tags, text without
// CDATA, comments or processing instructions, ASCII whitespace between
// elements. It reads those bytes directly instead of as tokens, and keeps
// every bound the token path keeps (depth, values, memory charged in the
// same amounts). On anything else, errors included, it gives up: the
// input it read is read again by the token path (scan.go, decode.go),
// which decides. Member names come from a cache shared by all decoders
// (internName).
// It runs only with a fixed memory budget (the message's size is known),
// so that giving up never changes what a charge is measured against.
//
// Each byte is read by the fast path at most once: after a give-up at an
// offset, the token path's nested values try it again only from there on.

// fastSpan is the most input a run of the fast path holds in a streaming
// scanner's buffer: a longer value is read by the token path, which reads
// it through a window, and its nested values by the fast path again.
const fastSpan = 64 << 10

// offset is where in the input the scanner is.
func (p *scanner) offset() int64 { return p.read - int64(len(p.buf)-p.pos) }

// fastValue is value for input the fast path reads: the content of a
// <value> whose start tag tok has read (and pushed), through its end tag.
// ok is false when it gave up; the scanner is then as it was.
func (p *scanner) fastValue() (v any, ok bool) {
	if p.budget < 0 || p.pendingEnd || p.offset() < p.fastFrom {
		return nil, false
	}
	p.mark = p.pos
	depth, values, cost := p.depth, p.values, p.cost
	if v, ok = p.fvalue(); ok {
		p.open = p.open[:len(p.open)-1] // the </value> tok would have matched
	}
	p.fastDone(ok, depth, values, cost)
	return v, ok
}

// need makes n bytes available at buf[pos:], reading as needed. It is
// small enough to be inlined; reading is left to fill.
func (p *scanner) need(n int) bool {
	return len(p.buf)-p.pos >= n || p.fill(n)
}

// fill is avail, kept out of need's inlined body.
//
//go:noinline
func (p *scanner) fill(n int) bool { return p.avail(n) }

// skipSpace skips ASCII whitespace between elements.
func (p *scanner) skipSpace() {
	for p.need(1) {
		switch p.buf[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// literal consumes s if the input goes on with it.
func (p *scanner) literal(s string) bool {
	if !p.need(len(s)) || string(p.buf[p.pos:p.pos+len(s)]) != s {
		return false
	}
	p.pos += len(s)
	return true
}

// endTag consumes "</name>".
func (p *scanner) endTag(name string) bool {
	if !p.need(len(name) + 3) {
		return false
	}
	b := p.buf[p.pos:]
	if b[0] != '<' || b[1] != '/' || string(b[2:2+len(name)]) != name || b[2+len(name)] != '>' {
		return false
	}
	p.pos += len(name) + 3
	return true
}

// startTag reads "<name>" or "<name/>" of one of XML-RPC's own names.
func (p *scanner) startTag() (name string, empty, ok bool) {
	const longest = len("dateTime.iso8601")
	if !p.need(longest+3) && len(p.buf)-p.pos < 3 {
		return "", false, false
	}
	b := p.buf[p.pos:min(len(p.buf), p.pos+longest+3)]
	if b[0] != '<' {
		return "", false, false
	}
	i := 1
	for i < len(b) && ('a' <= b[i] && b[i] <= 'z' || 'A' <= b[i] && b[i] <= 'Z' || b[i] == '.' || '0' <= b[i] && b[i] <= '9') {
		i++
	}
	if i == 1 || i == len(b) {
		return "", false, false // no name, or one too long for XML-RPC's, or the input ends
	}
	name, known := knownName(b[1:i])
	if !known {
		return "", false, false
	}
	switch {
	case b[i] == '>':
		p.pos += i + 1
		return name, false, true
	case b[i] == '/' && i+1 < len(b) && b[i+1] == '>':
		p.pos += i + 2
		return name, true, true
	}
	return "", false, false
}

// ftext reads character data up to the next '<', decoded into p.text as
// the token path decodes a text token, and charges it as textValue and
// value do.
func (p *scanner) ftext() bool {
	end := p.index('<')
	if end < 0 {
		return false
	}
	p.text = p.text[:0]
	if end == 0 {
		return true
	}
	var err error
	if p.text, err = decodeText(p.text, p.buf[p.pos:p.pos+end], inText); err != nil {
		return false
	}
	p.pos += end
	return p.charge(len(p.text)) == nil
}

// fvalue reads a value's content and its end tag.
func (p *scanner) fvalue() (any, bool) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, false
	}
	if p.values++; p.values > maxValues || p.charge(costValue) != nil || !p.ftext() {
		return nil, false
	}
	if p.endTag("value") { // a bare string
		return stringValue(p.text), p.charge(costString) == nil
	}
	if len(bytes.TrimSpace(p.text)) != 0 {
		return nil, false
	}
	kind, empty, ok := p.startTag()
	if !ok {
		return nil, false
	}
	v, ok := p.ftyped(kind, empty)
	if !ok {
		return nil, false
	}
	p.skipSpace()
	return v, p.endTag("value")
}

// emptyValue is fvalue for <value/>, an empty string.
func (p *scanner) emptyValue() (any, bool) {
	if p.depth+1 > maxDepth {
		return nil, false
	}
	if p.values++; p.values > maxValues || p.charge(costValue) != nil || p.charge(costString) != nil {
		return nil, false
	}
	return "", true
}

// ftyped reads a typed element's content and end tag, its start tag read.
func (p *scanner) ftyped(kind string, empty bool) (any, bool) {
	switch kind {
	case "array":
		return p.farray(empty)
	case "struct":
		return p.fstruct(empty)
	}
	p.text = p.text[:0]
	if !empty && (!p.ftext() || !p.endTag(kind)) {
		return nil, false
	}
	if kind == "string" { // as scalar, without a copy of a short one
		return stringValue(p.text), p.charge(costString) == nil
	}
	v, err := scalar(kind, string(p.text), p.charge)
	return v, err == nil
}

// farray reads <data><value>...</value>*</data></array>.
func (p *scanner) farray(empty bool) (any, bool) {
	if p.charge(costArray) != nil {
		return nil, false
	}
	out := []any{}
	if empty {
		return out, true
	}
	p.skipSpace()
	if p.endTag("array") {
		return out, true
	}
	name, emptyData, ok := p.startTag()
	if !ok || name != "data" {
		return nil, false
	}
	for !emptyData {
		p.skipSpace()
		if p.endTag("data") {
			break
		}
		name, emptyValue, ok := p.startTag()
		if !ok || name != "value" || p.charge(costElement) != nil {
			return nil, false
		}
		v, ok := p.fmaybeEmpty(emptyValue)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	p.skipSpace()
	return out, p.endTag("array")
}

// fmaybeEmpty reads a value whose start tag was read: <value/> or its content.
func (p *scanner) fmaybeEmpty(empty bool) (any, bool) {
	if empty {
		return p.emptyValue()
	}
	return p.fvalue()
}

// fstruct reads <member>...</member>* up to </struct>. Its members wait
// on the scanner's stack until the struct ends, so that its map is made
// at its size once rather than grown (a VM record has 67 members).
func (p *scanner) fstruct(empty bool) (any, bool) {
	if p.charge(costStruct) != nil {
		return nil, false
	}
	if empty {
		return map[string]any{}, true
	}
	if p.members == nil {
		p.members = memberStacks.Get().(*[]member) // given back by putMembers
	}
	base := len(*p.members)
	defer func() {
		clear((*p.members)[base:]) // the values are the caller's now, or garbage
		*p.members = (*p.members)[:base]
	}()
	for {
		p.skipSpace()
		if p.endTag("struct") {
			out := make(map[string]any, len(*p.members)-base)
			for _, m := range (*p.members)[base:] {
				out[m.name] = m.v // a name given twice: the last, as the token path
			}
			return out, true
		}
		cost := costMember
		if len(*p.members) == base {
			cost = costFirstMember
		}
		if !p.literal("<member>") || p.charge(cost) != nil {
			return nil, false
		}
		name, v, ok := p.fmember()
		if !ok {
			return nil, false
		}
		*p.members = append(*p.members, member{name, v})
	}
}

// member is a struct member read and not yet in its map.
type member struct {
	name string
	v    any
}

// memberStacks keeps the scanners' member stacks between messages.
var memberStacks = sync.Pool{New: func() any { return new([]member) }}

// putMembers gives the scanner's member stack back, empty (each struct
// clears what it pushed), unless it grew large.
func (p *scanner) putMembers() {
	if p.members != nil && cap(*p.members) <= 1024 {
		memberStacks.Put(p.members)
	}
	p.members = nil
}

// fmember reads a struct member's <name> and <value>, in either order,
// and its end tag.
func (p *scanner) fmember() (name string, v any, ok bool) {
	var haveName, haveValue bool
	for {
		p.skipSpace()
		if p.endTag("member") {
			return name, v, haveName && haveValue
		}
		tag, empty, ok := p.startTag()
		switch {
		case !ok:
			return "", nil, false
		case tag == "name" && !haveName && !empty:
			if !p.ftext() || !p.endTag("name") {
				return "", nil, false
			}
			name, haveName = internName(p.text), true
		case tag == "value" && !haveValue:
			if v, ok = p.fmaybeEmpty(empty); !ok {
				return "", nil, false
			}
			haveValue = true
		default:
			return "", nil, false
		}
	}
}

// fastResponse is response for a reply spelt as peers spell it: an
// optional <?xml version="1.0"?>, then <methodResponse><params><param>
// and one value, whitespace between elements and after the root allowed.
// ok is false when it gave up; the scanner is then as it was.
func (p *scanner) fastResponse() (v any, ok bool) {
	if p.budget < 0 {
		return nil, false
	}
	p.mark = p.pos
	if p.prolog() && p.tagsThen("<methodResponse>", "<params>", "<param>", "<value>") {
		v, ok = p.fvalue()
		ok = ok && p.tagsThen("</param>", "</params>", "</methodResponse>") && p.atEOF()
	}
	p.fastDone(ok, 0, 0, 0)
	return v, ok
}

// fastCall is call for a call spelt as peers spell it:
// <methodCall><methodName>name</methodName><params> and its <param>s.
func (p *scanner) fastCall() (method string, params []any, ok bool) {
	if p.budget < 0 {
		return "", nil, false
	}
	p.mark = p.pos
	ok = p.prolog() && p.tagsThen("<methodCall>", "<methodName>") && p.ftext()
	if ok {
		method = string(bytes.TrimSpace(p.text))
		ok = method != "" && p.endTag("methodName") && p.tagsThen("<params>")
	}
	params = []any{}
	for ok {
		if p.tagsThen("</params>") {
			ok = p.tagsThen("</methodCall>") && p.atEOF()
			break
		}
		var v any
		if ok = p.tagsThen("<param>", "<value>"); ok {
			v, ok = p.fvalue()
			ok = ok && p.tagsThen("</param>")
			params = append(params, v)
		}
	}
	p.fastDone(ok, 0, 0, 0)
	return method, params, ok
}

// prolog skips the XML declaration peers send, if there is one.
func (p *scanner) prolog() bool {
	_ = p.literal(`<?xml version="1.0"?>`) || p.literal(`<?xml version='1.0'?>`)
	return true
}

// tagsThen consumes each of tags in turn, whitespace before each.
func (p *scanner) tagsThen(tags ...string) bool {
	for _, t := range tags {
		if p.skipSpace(); !p.literal(t) {
			return false
		}
	}
	return true
}

// atEOF says whether nothing but whitespace is left, and the input ended
// well (not that more stopped reading for the fast path's span).
func (p *scanner) atEOF() bool {
	p.skipSpace()
	return !p.need(1) && p.r == nil && p.rerr == nil
}

// fastDone ends a run of the fast path that started at mark: when it gave
// up, the scanner goes back to the mark and the counts to theirs, and the
// fast path is not tried again before the offset it reached.
func (p *scanner) fastDone(ok bool, depth, values int, cost int64) {
	if !ok {
		p.fastFrom = p.offset() + 1
		p.pos = p.mark
		p.depth, p.values, p.cost = depth, values, cost
	}
	p.mark = -1
}

// A direct-mapped cache of strings already seen, shared by every decoder
// (a slot is replaced as a whole, atomically): member names, which every
// record repeats, and short string values ("OpaqueRef:NULL", "Running",
// "destroy"), kept boxed as the values are returned. A hostile peer can
// only make it miss.
type interned struct {
	s string
	v any // s, boxed
}

var (
	internSeed = maphash.MakeSeed()
	names      [1 << 10]atomic.Pointer[interned]
	shorts     [1 << 10]atomic.Pointer[interned]
)

// intern finds b in table, or puts it there.
func intern(table *[1 << 10]atomic.Pointer[interned], b []byte) *interned {
	slot := &table[maphash.Bytes(internSeed, b)&(uint64(len(table))-1)]
	if e := slot.Load(); e != nil && e.s == string(b) {
		return e
	}
	e := &interned{s: string(b)}
	e.v = e.s
	slot.Store(e)
	return e
}

// internName returns a member name as a string.
func internName(b []byte) string {
	if len(b) > 48 {
		return string(b)
	}
	return intern(&names, b).s
}

// stringValue returns a string value, boxed.
func stringValue(b []byte) any {
	if len(b) > 24 {
		return string(b)
	}
	return intern(&shorts, b).v
}
