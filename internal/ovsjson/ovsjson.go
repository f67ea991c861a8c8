// Package ovsjson reads the values of `ovs-vsctl --format=json` tables:
// ovsdb's JSON notation (RFC 7047, section 5.1), where an atom is a
// string or a number, a uuid is ["uuid", "..."], a set of more or less
// than one is ["set", [...]] and a map is ["map", [[k, v], ...]].
//
// xenlab's verify reads dom0's and domU's switches with it, and the
// simulator reads a guest's switch the same way when it saves it.
package ovsjson

import "fmt"

// Atom is a value as text: a string as it is, a number in decimal, a
// set of one its element, an empty set "".
func Atom(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case []any:
		if len(x) == 2 && x[0] == "set" {
			if s, ok := x[1].([]any); ok && len(s) == 1 {
				return Atom(s[0])
			}
			return ""
		}
		if len(x) == 2 {
			return Atom(x[1])
		}
	}
	return fmt.Sprint(v)
}

// UUIDs are the uuids of a uuid or a set of uuids (nil for anything
// else).
func UUIDs(v any) []string {
	x, ok := v.([]any)
	if !ok || len(x) != 2 {
		return nil
	}
	if x[0] == "uuid" {
		return []string{Atom(x[1])}
	}
	var out []string
	if elems, ok := x[1].([]any); ok && x[0] == "set" {
		for _, e := range elems {
			out = append(out, UUIDs(e)...)
		}
	}
	return out
}

// Map is a map's pairs as text (nil for anything else).
func Map(v any) map[string]string {
	x, ok := v.([]any)
	if !ok || len(x) != 2 || x[0] != "map" {
		return nil
	}
	pairs, _ := x[1].([]any)
	out := map[string]string{}
	for _, p := range pairs {
		if kv, ok := p.([]any); ok && len(kv) == 2 {
			out[Atom(kv[0])] = Atom(kv[1])
		}
	}
	return out
}
