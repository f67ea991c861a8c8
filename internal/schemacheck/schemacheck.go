// Package schemacheck validates JSON values against a JSON Schema, for
// tests that check xenlab's machine-readable output against the schemas in
// docs/ (docs/events.schema.json). It implements the subset those schemas
// use, and refuses a schema that uses anything else, so a keyword it does
// not know can never pass silently:
//
//   - type (a name or a list of names: object, array, string, number,
//     integer, boolean, null)
//   - properties, required, additionalProperties (false or a schema)
//   - items (one schema for every element)
//   - enum, const (compared as JSON values)
//   - oneOf (exactly one branch matches)
//   - minimum (numbers)
//   - format "date-time" (RFC 3339)
//   - $ref to "#/$defs/NAME"
//
// Annotations ($schema, $id, title, description) are ignored. It is test
// code: xenlab takes no JSON Schema library as a dependency.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Schema is a loaded schema document.
type Schema struct {
	root map[string]any
	defs map[string]any
}

var keywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "$ref": true, "title": true, "description": true,
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "enum": true, "const": true, "oneOf": true, "minimum": true, "format": true,
}

// Load reads a schema file and checks that it uses only the subset above.
func Load(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads a schema document.
func Parse(b []byte) (*Schema, error) {
	root, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: not an object")
	}
	s := &Schema{root: m, defs: map[string]any{}}
	if d, ok := m["$defs"].(map[string]any); ok {
		s.defs = d
	}
	if err := s.check(m, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

// check refuses keywords outside the subset and $refs that lead nowhere.
func (s *Schema) check(v any, at string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("schema %s: not an object", at)
	}
	for k, sub := range m {
		if !keywords[k] {
			return fmt.Errorf("schema %s: keyword %q is not supported by this validator", at, k)
		}
		switch k {
		case "$ref":
			if _, err := s.resolve(sub); err != nil {
				return fmt.Errorf("schema %s: %w", at, err)
			}
		case "$defs", "properties":
			for name, d := range sub.(map[string]any) {
				if err := s.check(d, at+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case "items":
			if err := s.check(sub, at+"/items"); err != nil {
				return err
			}
		case "additionalProperties":
			if _, isBool := sub.(bool); !isBool {
				if err := s.check(sub, at+"/additionalProperties"); err != nil {
					return err
				}
			}
		case "oneOf":
			for i, d := range sub.([]any) {
				if err := s.check(d, fmt.Sprintf("%s/oneOf/%d", at, i)); err != nil {
					return err
				}
			}
		case "format":
			if sub != "date-time" {
				return fmt.Errorf("schema %s: format %v is not supported", at, sub)
			}
		}
	}
	return nil
}

func (s *Schema) resolve(ref any) (map[string]any, error) {
	r, _ := ref.(string)
	name, ok := strings.CutPrefix(r, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only #/$defs/NAME is supported", r)
	}
	d, ok := s.defs[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q: no such definition", r)
	}
	return d, nil
}

// ValidateJSON decodes one JSON document and validates it.
func (s *Schema) ValidateJSON(b []byte) error {
	v, err := decode(b)
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// Validate checks a decoded value (numbers as json.Number) and returns the
// first violation found, with its JSON pointer.
func (s *Schema) Validate(v any) error {
	return s.validate(s.root, v, "")
}

func (s *Schema) validate(sch map[string]any, v any, at string) error {
	if ref, ok := sch["$ref"]; ok {
		d, err := s.resolve(ref)
		if err != nil {
			return err
		}
		if err := s.validate(d, v, at); err != nil {
			return err
		}
	}
	if t, ok := sch["type"]; ok {
		if err := checkType(t, v, at); err != nil {
			return err
		}
	}
	if c, ok := sch["const"]; ok && !equal(c, v) {
		return fmt.Errorf("%s: %s, want %s", where(at), show(v), show(c))
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, c := range e {
			found = found || equal(c, v)
		}
		if !found {
			return fmt.Errorf("%s: %s is not one of %s", where(at), show(v), show(e))
		}
	}
	if min, ok := sch["minimum"].(json.Number); ok {
		if n, isNum := v.(json.Number); isNum {
			a, _ := n.Float64()
			b, _ := min.Float64()
			if a < b {
				return fmt.Errorf("%s: %s is less than %s", where(at), n, min)
			}
		}
	}
	if f, ok := sch["format"]; ok && f == "date-time" {
		if str, isStr := v.(string); isStr {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not an RFC 3339 date-time", where(at), str)
			}
		}
	}
	if obj, isObj := v.(map[string]any); isObj {
		if err := s.validateObject(sch, obj, at); err != nil {
			return err
		}
	}
	if arr, isArr := v.([]any); isArr {
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range arr {
				if err := s.validate(items, e, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if branches, ok := sch["oneOf"].([]any); ok {
		return s.oneOf(branches, v, at)
	}
	return nil
}

func (s *Schema) validateObject(sch, obj map[string]any, at string) error {
	if req, ok := sch["required"].([]any); ok {
		for _, r := range req {
			if _, has := obj[r.(string)]; !has {
				return fmt.Errorf("%s: required property %q is missing", where(at), r)
			}
		}
	}
	props, _ := sch["properties"].(map[string]any)
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if p, ok := props[k].(map[string]any); ok {
			if err := s.validate(p, obj[k], at+"/"+k); err != nil {
				return err
			}
			continue
		}
		switch ap := sch["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: property %q is not allowed", where(at), k)
			}
		case map[string]any:
			if err := s.validate(ap, obj[k], at+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// oneOf passes when exactly one branch matches. When none does, the error
// is that of the branch whose "kind" const or enum names the value's kind
// (the schemas here key their branches by kind), else a list of them all.
func (s *Schema) oneOf(branches []any, v any, at string) error {
	var errs []string
	matched := 0
	for i, b := range branches {
		err := s.validate(b.(map[string]any), v, at)
		if err == nil {
			matched++
			continue
		}
		if s.kindMatches(b.(map[string]any), v) {
			return err
		}
		errs = append(errs, fmt.Sprintf("branch %d: %v", i, err))
	}
	switch matched {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%s: matches none of oneOf (%s)", where(at), strings.Join(errs, "; "))
	default:
		return fmt.Errorf("%s: matches %d branches of oneOf, want exactly one", where(at), matched)
	}
}

// kindMatches says whether a branch's kind property (const or enum)
// admits v's kind.
func (s *Schema) kindMatches(b map[string]any, v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if ref, ok := b["$ref"]; ok {
		if d, err := s.resolve(ref); err == nil {
			b = d
		}
	}
	props, _ := b["properties"].(map[string]any)
	kind, _ := props["kind"].(map[string]any)
	if c, ok := kind["const"]; ok {
		return equal(c, obj["kind"])
	}
	if e, ok := kind["enum"].([]any); ok {
		for _, c := range e {
			if equal(c, obj["kind"]) {
				return true
			}
		}
	}
	return false
}

func checkType(t, v any, at string) error {
	var names []string
	switch tt := t.(type) {
	case string:
		names = []string{tt}
	case []any:
		for _, n := range tt {
			names = append(names, n.(string))
		}
	}
	for _, n := range names {
		if isType(n, v) {
			return nil
		}
	}
	return fmt.Errorf("%s: %s is not of type %s", where(at), show(v), strings.Join(names, " or "))
}

func isType(name string, v any) bool {
	switch name {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	}
	return false
}

// equal compares two decoded JSON values; numbers by value.
func equal(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		nb, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		return fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

func where(at string) string {
	if at == "" {
		return "(root)"
	}
	return at
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
