package xmlrpc

// The decoder this package had before scan.go, built on encoding/xml's
// tokens, kept as the reference that FuzzDecodersAgree and the
// benchmarks hold the decoder to.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// refUnmarshalCall decodes a <methodCall> into its method name and parameters.
func refUnmarshalCall(data []byte) (method string, params []any, err error) {
	p, err := newRefDecoder(data)
	if err != nil {
		return "", nil, err
	}
	if err := p.expectStart("methodCall"); err != nil {
		return "", nil, err
	}
	if err := p.expectStart("methodName"); err != nil {
		return "", nil, err
	}
	name, err := p.text()
	if err != nil {
		return "", nil, err
	}
	method = strings.TrimSpace(name)
	if method == "" {
		return "", nil, errors.New("xmlrpc: empty methodName")
	}
	params = []any{}
	tok, err := p.next()
	if err != nil {
		return "", nil, err
	}
	if start, ok := tok.(xml.StartElement); ok {
		if start.Name.Local != "params" {
			return "", nil, fmt.Errorf("xmlrpc: unexpected <%s> in methodCall", start.Name.Local)
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

// refUnmarshalResponse decodes a <methodResponse> into its single value. A
// <fault> response returns a *Fault error. An empty <params/> decodes as nil.
func refUnmarshalResponse(data []byte) (any, error) {
	p, err := newRefDecoder(data)
	if err != nil {
		return nil, err
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
	switch start.Name.Local {
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
		return nil, fmt.Errorf("xmlrpc: unexpected <%s> in methodResponse", start.Name.Local)
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

// refDecoder reads XML-RPC values from a token stream, within bounds on
// nesting, on the number of values, and on the memory the decoded values
// keep (estimated as it goes, before it is spent).
type refDecoder struct {
	d      *xml.Decoder
	depth  int
	values int
	cost   int64 // estimated bytes kept by the decoded values so far
	budget int64 // the most cost may reach
}

func newRefDecoder(data []byte) (*refDecoder, error) {
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("xmlrpc: message of %d bytes exceeds the %d byte limit", len(data), MaxMessageSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	return &refDecoder{d: d, budget: memoryFactor*int64(len(data)) + memorySlack}, nil
}

// charge adds n bytes to the estimate, or fails when that would pass the
// budget.
func (p *refDecoder) charge(n int) error {
	p.cost += int64(n)
	if p.cost > p.budget {
		return &LimitError{Limit: "memory", Max: p.budget}
	}
	return nil
}

// token returns the next raw token; running out of input is an error here,
// since only eof may legitimately meet the end.
func (p *refDecoder) token() (xml.Token, error) {
	tok, err := p.d.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("xmlrpc: truncated message: %w", io.ErrUnexpectedEOF)
	}
	if err != nil {
		return nil, fmt.Errorf("xmlrpc: %w", err)
	}
	return tok, nil
}

// next returns the next start or end element, skipping whitespace, comments,
// processing instructions and directives. Other text is an error.
func (p *refDecoder) next() (xml.Token, error) {
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, fmt.Errorf("xmlrpc: unexpected text %q", clip(string(t)))
			}
		}
	}
}

// nextStart returns the next element, which must be a start element.
func (p *refDecoder) nextStart() (xml.StartElement, error) {
	tok, err := p.next()
	if err != nil {
		return xml.StartElement{}, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, fmt.Errorf("xmlrpc: unexpected </%s>", tok.(xml.EndElement).Name.Local)
	}
	return start, nil
}

func (p *refDecoder) expectStart(name string) error {
	start, err := p.nextStart()
	if err != nil {
		return err
	}
	if start.Name.Local != name {
		return fmt.Errorf("xmlrpc: got <%s>, want <%s>", start.Name.Local, name)
	}
	return nil
}

// expectEnd consumes the end tag of the innermost open element; the token
// refDecoder guarantees it matches its start tag.
func (p *refDecoder) expectEnd() error {
	tok, err := p.next()
	if err != nil {
		return err
	}
	if start, ok := tok.(xml.StartElement); ok {
		return fmt.Errorf("xmlrpc: unexpected <%s>", start.Name.Local)
	}
	return nil
}

// eof checks that nothing but whitespace, comments or processing
// instructions follows the root element.
func (p *refDecoder) eof() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("xmlrpc: after the root element: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("xmlrpc: unexpected <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("xmlrpc: unexpected text %q after the root element", clip(string(t)))
			}
		}
	}
}

// text reads character data up to the end of the current element, which
// must have no child elements.
func (p *refDecoder) text() (string, error) {
	var b refTextBuilder
	for {
		tok, err := p.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if err := p.charge(len(t)); err != nil {
				return "", err
			}
			b.add(t)
		case xml.StartElement:
			return "", fmt.Errorf("xmlrpc: unexpected <%s> in text", t.Name.Local)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// refTextBuilder collects an element's character data. Text usually comes
// as one token: that is copied once, without an intermediate buffer.
type refTextBuilder struct {
	first string
	more  []byte
	n     int
}

func (b *refTextBuilder) add(t []byte) {
	switch b.n++; b.n {
	case 1:
		b.first = string(t)
	case 2:
		b.more = append([]byte(b.first), t...)
	default:
		b.more = append(b.more, t...)
	}
}

func (b *refTextBuilder) String() string {
	if b.n > 1 {
		return string(b.more)
	}
	return b.first
}

// params reads <param><value>...</value></param>* up to </params>.
func (p *refDecoder) params() ([]any, error) {
	out := []any{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return out, nil
		}
		if start.Name.Local != "param" {
			return nil, fmt.Errorf("xmlrpc: got <%s>, want <param>", start.Name.Local)
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
// read, through its end tag.
func (p *refDecoder) value() (any, error) {
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
	var text refTextBuilder
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if err := p.charge(len(t)); err != nil {
				return nil, err
			}
			text.add(t)
		case xml.EndElement:
			if err := p.charge(costString); err != nil {
				return nil, err
			}
			return text.String(), nil // a bare string
		case xml.StartElement:
			if strings.TrimSpace(text.String()) != "" {
				return nil, fmt.Errorf("xmlrpc: text mixed with <%s> in a value", t.Name.Local)
			}
			v, err := p.typed(t)
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
func (p *refDecoder) typed(start xml.StartElement) (any, error) {
	kind := start.Name.Local
	switch kind {
	case "array":
		return p.array()
	case "struct":
		return p.structure()
	}
	s, err := p.text()
	if err != nil {
		return nil, err
	}
	switch kind {
	case "string":
		err = p.charge(costString)
	case "base64":
		err = p.charge(costArray)
	case "nil", "boolean":
	default:
		err = p.charge(costScalar)
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
	return nil, fmt.Errorf("xmlrpc: unknown value type <%s>", kind)
}

// array reads <data><value>...</value>*</data></array>; an empty <array/>
// is accepted too.
func (p *refDecoder) array() ([]any, error) {
	out := []any{}
	if err := p.charge(costArray); err != nil {
		return nil, err
	}
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return out, nil
	}
	if start.Name.Local != "data" {
		return nil, fmt.Errorf("xmlrpc: got <%s> in array, want <data>", start.Name.Local)
	}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			break
		}
		if start.Name.Local != "value" {
			return nil, fmt.Errorf("xmlrpc: got <%s> in array data, want <value>", start.Name.Local)
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
func (p *refDecoder) structure() (map[string]any, error) {
	out := map[string]any{}
	if err := p.charge(costStruct); err != nil {
		return nil, err
	}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return out, nil
		}
		if start.Name.Local != "member" {
			return nil, fmt.Errorf("xmlrpc: got <%s> in struct, want <member>", start.Name.Local)
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
func (p *refDecoder) member() (string, any, error) {
	var name string
	var v any
	var haveName, haveValue bool
	for {
		tok, err := p.next()
		if err != nil {
			return "", nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			break
		}
		switch {
		case start.Name.Local == "name" && !haveName:
			if name, err = p.text(); err != nil {
				return "", nil, err
			}
			haveName = true
		case start.Name.Local == "value" && !haveValue:
			if v, err = p.value(); err != nil {
				return "", nil, err
			}
			haveValue = true
		default:
			return "", nil, fmt.Errorf("xmlrpc: unexpected <%s> in struct member", start.Name.Local)
		}
	}
	if !haveName || !haveValue {
		return "", nil, fmt.Errorf("xmlrpc: struct member %q lacks a name or a value", clip(name))
	}
	return name, v, nil
}
