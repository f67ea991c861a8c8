package xe

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The record view of each class as xe shows it: field names, how a value
// is printed, which fields can be set, added to or removed from. Read from
// xen-api's ocaml/client_records/records.ml (tag XS62, XenServer 6.2) and
// record_util.ml; written for xenlab, not a translation of that code.

const (
	nid         = "<not in database>"
	unknownTime = "<unknown time>"
	expensive   = "<expensive field>"
)

// obj is one object read from xapi: its class, ref and record.
type obj struct {
	class, ref string
	rec        map[string]any
}

// field is one column of a class's records.
type field struct {
	name string
	get  func(s *state, o obj) string
	// set, if not nil, writes the field from its CLI string (RW).
	set func(s *state, o obj, v string) error
	// getMap/getSet make a map or set field; addMap/removeMap and
	// addSet/removeSet make it writable.
	getMap               func(s *state, o obj) [][2]string
	addMap               func(s *state, o obj, k, v string) error
	removeMap            func(s *state, o obj, k string) error
	getSet               func(s *state, o obj) []string
	addSet, removeSet    func(s *state, o obj, v string) error
	hidden, expensiveF   bool
	deprecated, caseFree bool
}

// flags is the access mark xe prints after a field's name.
func (f field) flags() string {
	switch {
	case f.getSet != nil && f.addSet != nil:
		return " (SRW)"
	case f.getSet != nil:
		return " (SRO)"
	case f.getMap != nil && f.addMap != nil:
		return " (MRW)"
	case f.getMap != nil:
		return " (MRO)"
	case f.set != nil:
		return " ( RW)"
	}
	return " ( RO)"
}

// value reads a field; a dangling reference reads as xe prints it.
func (f field) value(s *state, o obj) string { return f.get(s, o) }

// class is one record kind of the CLI: vm, template, snapshot share the
// API class VM with different default filters.
type class struct {
	cli, api      string
	filters       [][2]string // default filters of <cli>-list
	listParams    []string    // default columns of <cli>-list
	fields        []field
	standardList  bool // <cli>-list is in xe help's common list
	noSettable    bool
	pluralSpecial string
}

// --- value helpers ---------------------------------------------------

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return xapiDate(x)
	}
	return fmt.Sprint(v)
}

// xapiDate is xapi's Date.to_string: 20130614T10:11:12Z.
func xapiDate(t time.Time) string { return t.UTC().Format("20060102T15:04:05Z") }

func boolOf(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true" || x == "1"
	}
	return false
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, str(x))
	}
	return out
}

// pairs is a map field in key order (xapi sends maps as structs; the
// order xe shows is the record's, which the simulator keeps sorted).
func pairs(v any) [][2]string {
	m, _ := v.(map[string]any)
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, str(m[k])})
	}
	return out
}

// mapString is record_util's s2sm_to_string "; ": "k: v; k2: v2".
func mapString(ps [][2]string) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p[0] + ": " + p[1]
	}
	return strings.Join(parts, "; ")
}

// bytesOf is record_util's bytes_of_string: an integer with an optional
// bytes, KiB, MiB, GiB or TiB suffix.
func bytesOf(field, x string) (int64, error) {
	i := 0
	for i < len(x) && x[i] >= '0' && x[i] <= '9' {
		i++
	}
	num, suffix := x[:i], strings.TrimSpace(x[i:])
	if suffix == "" {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, recordFailure(fmt.Sprintf("Failed to parse field '%s': expecting an integer (possibly with suffix)", field))
		}
		return n, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, recordFailure(fmt.Sprintf("Failed to parse field '%s': expecting an integer (possibly with suffix)", field))
	}
	mult := map[string]int64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[suffix]
	if mult == 0 {
		return 0, recordFailure(fmt.Sprintf("Failed to parse field '%s': Unknown suffix: '%s' (try KiB, MiB, GiB or TiB)", field, suffix))
	}
	return n * mult, nil
}

// boolArg is record_util's bool_of_string: true/yes/false/no, any case.
func boolArg(field, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, recordFailure(fmt.Sprintf("Failed to parse parameter '%s': expecting a boolean (true or false)", field))
}

// --- field constructors ----------------------------------------------

func plain(name, api string) field {
	return field{name: name, get: func(s *state, o obj) string { return str(o.rec[api]) }}
}

// rw is a string field set through <Class>.set_<api>.
func rw(name, api string) field {
	f := plain(name, api)
	f.set = func(s *state, o obj, v string) error { return s.setField(o, api, v) }
	return f
}

func rwInt(name, api string) field {
	f := plain(name, api)
	f.set = func(s *state, o obj, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return recordFailure(fmt.Sprintf("Failed to parse parameter '%s': expecting an integer", name))
		}
		return s.setField(o, api, n)
	}
	return f
}

func rwBytes(name, api string) field {
	f := plain(name, api)
	f.set = func(s *state, o obj, v string) error {
		n, err := bytesOf(name, v)
		if err != nil {
			return err
		}
		return s.setField(o, api, n)
	}
	return f
}

func rwBool(name, api string) field {
	f := plain(name, api)
	f.set = func(s *state, o obj, v string) error {
		b, err := boolArg(name, v)
		if err != nil {
			return err
		}
		return s.setField(o, api, b)
	}
	return f
}

func float3(name, api string) field {
	return field{name: name, get: func(s *state, o obj) string {
		f, _ := strconv.ParseFloat(str(o.rec[api]), 64)
		return strconv.FormatFloat(f, 'f', 3, 64)
	}}
}

func date(name, api string) field {
	return field{name: name, get: func(s *state, o obj) string { return str(o.rec[api]) }}
}

// ref shows a reference as the uuid of the object (xe's
// get_uuid_from_ref); a null or dangling one reads <not in database>.
func ref(name, api, target string) field {
	return field{name: name, get: func(s *state, o obj) string { return s.uuidOf(target, str(o.rec[api])) }}
}

// refName shows a reference as the object's name label.
func refName(name, api, target string) field {
	return field{name: name, get: func(s *state, o obj) string { return s.nameOf(target, str(o.rec[api])) }}
}

// refSet shows a set of references as uuids.
func refSet(name, api, target string, asSet bool) field {
	uuids := func(s *state, o obj) []string {
		var out []string
		for _, r := range strList(o.rec[api]) {
			out = append(out, s.uuidOf(target, r))
		}
		return out
	}
	f := field{name: name, get: func(s *state, o obj) string { return strings.Join(uuids(s, o), "; ") }}
	if asSet {
		f.getSet = uuids
	}
	return f
}

// set is a set of strings, joined with sep.
func set(name, api, sep string) field {
	return field{name: name,
		get:    func(s *state, o obj) string { return strings.Join(strList(o.rec[api]), sep) },
		getSet: func(s *state, o obj) []string { return strList(o.rec[api]) }}
}

// tags are every class's tags: shown joined with ", ", added and removed
// with <Class>.add_tags/remove_tags.
func tags() field {
	f := set("tags", "tags", ", ")
	f.addSet = func(s *state, o obj, v string) error { _, err := s.c.call(o.class+".add_tags", o.ref, v); return err }
	f.removeSet = func(s *state, o obj, v string) error {
		_, err := s.c.call(o.class+".remove_tags", o.ref, v)
		return err
	}
	return f
}

// ops shows allowed_operations (a set) or current_operations (the
// operations of a task map).
func ops(name, api string) field {
	get := func(s *state, o obj) []string {
		if m, ok := o.rec[api].(map[string]any); ok {
			var out []string
			for _, p := range pairs(m) {
				out = append(out, p[1])
			}
			return out
		}
		return strList(o.rec[api])
	}
	return field{name: name, get: func(s *state, o obj) string { return strings.Join(get(s, o), "; ") }, getSet: get}
}

// mapRO is a read-only map.
func mapRO(name, api string) field {
	get := func(s *state, o obj) [][2]string { return pairs(o.rec[api]) }
	return field{name: name, get: func(s *state, o obj) string { return mapString(get(s, o)) }, getMap: get}
}

// mapRW is a map with <Class>.add_to_<api> and remove_from_<api>.
func mapRW(name, api string) field {
	f := mapRO(name, api)
	f.addMap = func(s *state, o obj, k, v string) error {
		_, err := s.c.call(o.class+".add_to_"+api, o.ref, k, v)
		return err
	}
	f.removeMap = func(s *state, o obj, k string) error {
		_, err := s.c.call(o.class+".remove_from_"+api, o.ref, k)
		return err
	}
	return f
}

// via reads a field of a record another reference points at (a VM's
// metrics and guest metrics); def when there is none.
func via(name, link, target, api, def string, show func(any) string) field {
	return field{name: name, get: func(s *state, o obj) string {
		r, ok := s.lookup(target, str(o.rec[link]))
		if !ok {
			return def
		}
		return show(r[api])
	}}
}

func viaMap(name, link, target, api string) field {
	get := func(s *state, o obj) [][2]string {
		r, ok := s.lookup(target, str(o.rec[link]))
		if !ok {
			return nil
		}
		return pairs(r[api])
	}
	return field{name: name, getMap: get, get: func(s *state, o obj) string {
		if _, ok := s.lookup(target, str(o.rec[link])); !ok {
			return nid
		}
		return mapString(get(s, o))
	}}
}

func constant(name, v string) field {
	return field{name: name, get: func(*state, obj) string { return v }}
}

func (f field) expensiveField() field { f.expensiveF = true; return f }
func (f field) hide() field           { f.hidden = true; return f }
func (f field) deprecate() field      { f.deprecated = true; return f }
func (f field) ci() field             { f.caseFree = true; return f }

// capitalised shows an enum as record_util does for actions: Destroy,
// Restart (set from any case).
func action(name, api string, values map[string]string) field {
	f := field{name: name, get: func(s *state, o obj) string {
		v := str(o.rec[api])
		if shown, ok := values[v]; ok {
			return shown
		}
		return v
	}}
	f.set = func(s *state, o obj, v string) error {
		low := strings.ToLower(v)
		for k, shown := range values {
			if strings.ToLower(shown) == low || k == low {
				return s.setField(o, api, k)
			}
		}
		keys := slices.Sorted(maps.Keys(values))
		return recordFailure(fmt.Sprintf("Expected '%s', got %s", strings.Join(keys, "' or '"), v))
	}
	return f
}

var onNormalExit = map[string]string{"destroy": "Destroy", "restart": "Restart"}
var onCrash = map[string]string{"destroy": "Destroy", "coredump_and_destroy": "Core dump and destroy", "restart": "Restart",
	"coredump_and_restart": "Core dump and restart", "preserve": "Preserve", "rename_restart": "Rename restart"}
