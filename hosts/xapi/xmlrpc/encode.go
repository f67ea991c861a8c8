package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

const xmlHeader = "<?xml version=\"1.0\"?>\n"

// MarshalCall encodes a <methodCall>. See the package documentation for how
// values are written; params may hold any type Marshal* accepts.
func MarshalCall(method string, params []any) ([]byte, error) {
	if method == "" {
		return nil, fmt.Errorf("xmlrpc: empty method name")
	}
	e := &encoder{}
	e.buf.Grow(512)
	e.buf.WriteString(xmlHeader)
	e.buf.WriteString("<methodCall><methodName>")
	escape(&e.buf, method)
	e.buf.WriteString("</methodName><params>")
	for i, v := range params {
		e.buf.WriteString("<param>")
		if err := e.value(v); err != nil {
			return nil, fmt.Errorf("xmlrpc: %s param %d: %w", method, i, err)
		}
		e.buf.WriteString("</param>")
	}
	e.buf.WriteString("</params></methodCall>\n")
	return e.buf.Bytes(), nil
}

// MarshalResponse encodes a successful <methodResponse> carrying v, the way
// xapi does: strings bare, integers as decimal strings.
func MarshalResponse(v any) ([]byte, error) {
	e := &encoder{}
	e.buf.WriteString(xmlHeader)
	e.buf.WriteString("<methodResponse><params><param>")
	if err := e.value(v); err != nil {
		return nil, fmt.Errorf("xmlrpc: response: %w", err)
	}
	e.buf.WriteString("</param></params></methodResponse>\n")
	return e.buf.Bytes(), nil
}

// MarshalFault encodes a <fault> response with an <int> faultCode and a
// <string> faultString, as the XML-RPC specification has them.
func MarshalFault(code int, message string) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	b.WriteString("<methodResponse><fault><value><struct>")
	b.WriteString("<member><name>faultCode</name><value><int>")
	b.WriteString(strconv.Itoa(code))
	b.WriteString("</int></value></member>")
	b.WriteString("<member><name>faultString</name><value><string>")
	escape(&b, message)
	b.WriteString("</string></value></member>")
	b.WriteString("</struct></value></fault></methodResponse>\n")
	return b.Bytes()
}

// encoder writes XML-RPC values.
type encoder struct {
	buf   bytes.Buffer
	depth int
}

// value writes <value>...</value> for v.
func (e *encoder) value(v any) error {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxDepth {
		return fmt.Errorf("values nested deeper than %d (a cycle?)", maxDepth)
	}
	e.buf.WriteString("<value>")
	if err := e.content(v); err != nil {
		return err
	}
	e.buf.WriteString("</value>")
	return nil
}

// content writes the inside of a <value> element.
func (e *encoder) content(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf.WriteString("<nil/>")
	case string:
		escape(&e.buf, x)
	case int64:
		e.buf.WriteString(strconv.FormatInt(x, 10))
	case int:
		e.buf.WriteString(strconv.Itoa(x))
	case int32:
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
	case Int:
		e.buf.WriteString("<int>")
		e.buf.WriteString(strconv.FormatInt(int64(x), 10))
		e.buf.WriteString("</int>")
	case bool:
		if x {
			e.buf.WriteString("<boolean>1</boolean>")
		} else {
			e.buf.WriteString("<boolean>0</boolean>")
		}
	case float64:
		return e.double(x)
	case time.Time:
		e.buf.WriteString("<dateTime.iso8601>")
		e.buf.WriteString(formatDateTime(x))
		e.buf.WriteString("</dateTime.iso8601>")
	case []byte:
		e.buf.WriteString("<base64>")
		e.buf.WriteString(base64.StdEncoding.EncodeToString(x))
		e.buf.WriteString("</base64>")
	case []any:
		e.buf.WriteString("<array><data>")
		for _, item := range x {
			if err := e.value(item); err != nil {
				return err
			}
		}
		e.buf.WriteString("</data></array>")
	case []string:
		e.buf.WriteString("<array><data>")
		for _, item := range x {
			e.buf.WriteString("<value>")
			escape(&e.buf, item)
			e.buf.WriteString("</value>")
		}
		e.buf.WriteString("</data></array>")
	case map[string]any:
		e.buf.WriteString("<struct>")
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := e.member(k, x[k]); err != nil {
				return err
			}
		}
		e.buf.WriteString("</struct>")
	case map[string]string:
		e.buf.WriteString("<struct>")
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e.buf.WriteString("<member><name>")
			escape(&e.buf, k)
			e.buf.WriteString("</name><value>")
			escape(&e.buf, x[k])
			e.buf.WriteString("</value></member>")
		}
		e.buf.WriteString("</struct>")
	default:
		return e.reflected(reflect.ValueOf(v))
	}
	return nil
}

// member writes one struct member.
func (e *encoder) member(name string, v any) error {
	e.buf.WriteString("<member><name>")
	escape(&e.buf, name)
	e.buf.WriteString("</name>")
	if err := e.value(v); err != nil {
		return fmt.Errorf("member %q: %w", name, err)
	}
	e.buf.WriteString("</member>")
	return nil
}

func (e *encoder) double(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("XML-RPC has no double %v", f)
	}
	e.buf.WriteString("<double>")
	e.buf.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	e.buf.WriteString("</double>")
	return nil
}

// reflected handles named types (such as a Ref string type), other integer
// and float widths, typed slices and string-keyed maps, and pointers.
func (e *encoder) reflected(rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.String:
		escape(&e.buf, rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf.WriteString(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.buf.WriteString(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Bool:
		return e.content(rv.Bool())
	case reflect.Float32, reflect.Float64:
		return e.double(rv.Float())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.content(rv.Bytes())
		}
		e.buf.WriteString("<array><data>")
		for i := range rv.Len() {
			if err := e.value(rv.Index(i).Interface()); err != nil {
				return err
			}
		}
		e.buf.WriteString("</data></array>")
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("cannot encode %s: struct keys must be strings", rv.Type())
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch {
			case a.String() < b.String():
				return -1
			case a.String() > b.String():
				return 1
			}
			return 0
		})
		e.buf.WriteString("<struct>")
		for _, k := range keys {
			if err := e.member(k.String(), rv.MapIndex(k).Interface()); err != nil {
				return err
			}
		}
		e.buf.WriteString("</struct>")
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.buf.WriteString("<nil/>")
			return nil
		}
		return e.content(rv.Elem().Interface())
	default:
		if !rv.IsValid() {
			e.buf.WriteString("<nil/>")
			return nil
		}
		return fmt.Errorf("cannot encode a %s", rv.Type())
	}
	return nil
}

// escape writes s as XML character data. Characters XML cannot carry are
// replaced by U+FFFD, as encoding/xml does.
func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' {
			_ = xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s) // printable ASCII with nothing to escape: as it is
}
