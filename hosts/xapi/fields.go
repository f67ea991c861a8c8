package xapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// fields reads a record struct as xapi sends it. Missing fields read as
// zero values (older xapi versions lack newer fields); a field of the wrong
// shape is remembered as the first error. Enums are plain strings, so an
// unknown enum value is kept as is.
type fields struct {
	class string
	m     map[string]any
	err   error
}

func newFields(class string, v any) *fields {
	f := &fields{class: class}
	m, ok := v.(map[string]any)
	if !ok {
		f.err = fmt.Errorf("xapi: %s record is %T, want a struct", class, v)
	}
	f.m = m
	return f
}

func (f *fields) fail(key string, v any, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("xapi: %s field %s is %T %v, want %s", f.class, key, v, clipAny(v), want)
	}
}

func clipAny(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

func (f *fields) str(key string) string {
	v, ok := f.m[key]
	if !ok || v == nil {
		return ""
	}
	s, err := asString(v)
	if err != nil {
		f.fail(key, v, "a string")
	}
	return s
}

func (f *fields) ref(key string) Ref { return Ref(f.str(key)) }

// int reads an int64, which xapi sends as a decimal string.
func (f *fields) int(key string) int64 {
	v, ok := f.m[key]
	if !ok || v == nil {
		return 0
	}
	n, err := asInt(v)
	if err != nil {
		f.fail(key, v, "an integer")
	}
	return n
}

func (f *fields) float(key string) float64 {
	switch v := f.m[key].(type) {
	case nil:
		return 0
	case float64:
		return v
	case int64:
		return float64(v)
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			f.fail(key, v, "a number")
		}
		return x
	default:
		f.fail(key, v, "a number")
		return 0
	}
}

func (f *fields) bool(key string) bool {
	switch v := f.m[key].(type) {
	case nil:
		return false
	case bool:
		return v
	case string: // tolerated: some servers send "true"/"false"
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.fail(key, v, "a boolean")
		}
		return b
	default:
		f.fail(key, v, "a boolean")
		return false
	}
}

func (f *fields) time(key string) time.Time {
	switch v := f.m[key].(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return v
	default:
		f.fail(key, v, "a dateTime")
		return time.Time{}
	}
}

func (f *fields) strs(key string) []string {
	v, ok := f.m[key]
	if !ok || v == nil {
		return nil
	}
	out, err := asStrings(v)
	if err != nil {
		f.fail(key, v, "an array of strings")
	}
	return out
}

func (f *fields) refs(key string) []Ref {
	ss := f.strs(key)
	if ss == nil {
		return nil
	}
	out := make([]Ref, len(ss))
	for i, s := range ss {
		out[i] = Ref(s)
	}
	return out
}

func (f *fields) smap(key string) map[string]string {
	v, ok := f.m[key]
	if !ok || v == nil {
		return map[string]string{}
	}
	out, err := asStringMap(v)
	if err != nil {
		f.fail(key, v, "a string map")
	}
	return out
}

// raw returns a field undecoded.
func (f *fields) raw(key string) any { return f.m[key] }

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("got %T, want a string", v)
}

func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("got %T %v, want an integer", v, clipAny(v))
}

func asStrings(v any) ([]string, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("got %T, want an array", v)
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, err := asString(e)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func asStringMap(v any) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("got %T, want a struct", v)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, err := asString(e)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}
