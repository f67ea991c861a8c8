package xe

import (
	"fmt"
	"slices"
	"strings"
)

// The commands every class has (cli_operations.ml make_param_funs):
// <class>-list, -param-list, -param-get, -param-set, -param-add,
// -param-remove, -param-clear.

// stdparams are never filters nor fields to set.
var stdparams = []string{"server", "password", "port", "username", "minimal", "force", "multiple", "all", "message-priority"}

func (cl *class) field(name string) (field, bool) {
	for _, f := range cl.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// missingParam is records.ml's CLI_failed_to_find_param: xe prints it
// as an error "Missing parameter" it has no description for.
type missingParam string

func (e missingParam) Error() string { return string(e) }

// fieldKind is get_field_type: the field a filter or setting names and,
// for a map or set, the key after "name:" (or, old style, "name-").
func (cl *class) fieldKind(name string) (f field, key string, err error) {
	if f, ok := cl.field(name); ok {
		return f, "", nil
	}
	if base, k, ok := strings.Cut(name, ":"); ok {
		f, found := cl.field(base)
		if !found {
			return field{}, "", cliFailure("Unknown field '" + name + "'")
		}
		if f.getSet == nil && f.getMap == nil {
			return field{}, "", cliFailure("Field '" + f.name + "' is not a set or map")
		}
		return f, k, nil
	}
	// Old style: <map>-<key>, the longest map name first, then sets.
	for _, wantMap := range []bool{true, false} {
		var cands []field
		for _, f := range cl.fields {
			if (wantMap && f.getMap != nil) || (!wantMap && f.getSet != nil) {
				cands = append(cands, f)
			}
		}
		slices.SortStableFunc(cands, func(a, b field) int { return len(b.name) - len(a.name) })
		for _, f := range cands {
			if k, ok := strings.CutPrefix(name, f.name+"-"); ok {
				return f, k, nil
			}
		}
	}
	return field{}, "", cliFailure("Unknown field '" + name + "'")
}

// filter keeps the objects whose field matches (filter_records_on_fields).
func (s *state) filter(cl *class, objs []obj, k, v string) ([]obj, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	f, key, err := cl.fieldKind(k)
	if err != nil {
		return nil, err
	}
	eq := func(a, b string) bool {
		if f.caseFree {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	var out []obj
	switch {
	case key == "" && f.name == k:
		for _, o := range objs {
			if eq(f.value(s, o), v) {
				out = append(out, o)
			}
		}
	case f.getMap != nil:
		for _, o := range objs {
			for _, p := range f.getMap(s, o) {
				if eq(p[0], key) && eq(p[1], v) {
					out = append(out, o)
					break
				}
			}
		}
	default:
		if key != "contains" {
			return nil, cliFailure("Invalid syntax for set filtering (should be set-param:contains=key)")
		}
		for _, o := range objs {
			if slices.ContainsFunc(f.getSet(s, o), func(m string) bool { return eq(m, v) }) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// filterParams are a command's parameters that select objects: all but
// params=, the standard ones, database:... and the command's own.
func filterParams(cmd command, own ...string) [][2]string {
	var out [][2]string
	for _, p := range cmd.params {
		stem, _, _ := strings.Cut(p[0], ":")
		if p[0] == "params" || slices.Contains(stdparams, stem) || slices.Contains(own, stem) ||
			strings.HasPrefix(p[0], "database:") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// selectObjects applies filters in turn.
func (s *state) selectObjects(cl *class, filters [][2]string) ([]obj, error) {
	objs := s.objects(cl.api)
	for _, f := range filters {
		var err error
		if objs, err = s.filter(cl, objs, f[0], f[1]); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// columns is select_fields: params=a,b (all: every field) or the class's
// default columns, in the record's order.
func (cl *class) columns(cmd command, def []string) []field {
	names := def
	if cmd.has("params") {
		names = nil
		if ps := cmd.get("params"); ps != "all" {
			names = strings.Split(ps, ",")
		}
	}
	var out []field
	for _, f := range cl.fields {
		if len(names) == 0 || slices.Contains(names, f.name) {
			out = append(out, f)
		}
	}
	return out
}

func printField(s *state, f field, o obj, cheap bool) [2]string {
	name := f.name + f.flags()
	if f.deprecated {
		name += " [DEPRECATED]"
	}
	if cheap && f.expensiveF {
		return [2]string{name, expensive}
	}
	return [2]string{name, f.value(s, o)}
}

func (cl *class) list(s *state, p *out, cmd command) error {
	filters := append(append([][2]string{}, cl.filters...), filterParams(cmd)...)
	objs, err := s.selectObjects(cl, filters)
	if err != nil {
		return err
	}
	if cmd.boolParam("all", false) {
		objs = s.objects(cl.api)
	}
	cols := cl.columns(cmd, cl.listParams)
	var recs [][][2]string
	for _, o := range objs {
		var r [][2]string
		for _, f := range cols {
			if !f.hidden {
				r = append(r, printField(s, f, o, true))
			}
		}
		recs = append(recs, r)
	}
	p.table(recs)
	return nil
}

func (cl *class) get(s *state, cmd command) (obj, error) {
	return s.byUUID(cl.api, cmd.get("uuid"))
}

func (cl *class) paramList(s *state, p *out, cmd command) error {
	o, err := cl.get(s, cmd)
	if err != nil {
		return err
	}
	var r [][2]string
	for _, f := range cl.fields {
		if !f.hidden {
			r = append(r, printField(s, f, o, false))
		}
	}
	p.table([][][2]string{r})
	return nil
}

// param is the object (uuid=) and its field (param-name=) a param-*
// command names.
func (cl *class) param(s *state, cmd command) (obj, field, error) {
	o, err := cl.get(s, cmd)
	if err != nil {
		return obj{}, field{}, err
	}
	f, ok := cl.field(cmd.get("param-name"))
	if !ok {
		return obj{}, field{}, missingParam(cmd.get("param-name"))
	}
	return o, f, nil
}

func (cl *class) paramGet(s *state, p *out, cmd command) error {
	o, f, err := cl.param(s, cmd)
	if err != nil {
		return err
	}
	if cmd.has("param-key") && f.getMap != nil {
		key := cmd.get("param-key")
		for _, kv := range f.getMap(s, o) {
			if kv[0] == key {
				p.list(kv[1])
				return nil
			}
		}
		return cliFailure(fmt.Sprintf("Key %s not found in map", key))
	}
	p.list(f.value(s, o))
	return nil
}

func (cl *class) paramSet(s *state, p *out, cmd command) error {
	o, err := cl.get(s, cmd)
	if err != nil {
		return err
	}
	for _, kv := range cmd.params {
		if kv[0] == "uuid" || slices.Contains(stdparams, kv[0]) {
			continue
		}
		f, key, err := cl.fieldKind(kv[0])
		if err != nil {
			return err
		}
		switch {
		case key == "" && f.name == kv[0]:
			if f.set == nil {
				if f.addMap != nil {
					return cliFailure("Field '" + kv[0] + "' is a map or set. use the 'name:key=value' syntax.")
				}
				return cliFailure("Field '" + kv[0] + "' is read-only.")
			}
			if err := f.set(s, o, kv[1]); err != nil {
				return err
			}
		case f.getMap != nil:
			if f.addMap == nil {
				return cliFailure("Map field '" + f.name + "' is read-only.")
			}
			for _, cur := range f.getMap(s, o) {
				if cur[0] == key {
					if err := f.removeMap(s, o, key); err != nil {
						return err
					}
				}
			}
			if err := f.addMap(s, o, key, kv[1]); err != nil {
				return err
			}
		default:
			return cliFailure("Cannot param-set on set fields")
		}
		s.forget(o.class)
		if o, err = cl.get(s, cmd); err != nil {
			return err
		}
	}
	return nil
}

func (cl *class) paramAdd(s *state, p *out, cmd command) error {
	o, f, err := cl.param(s, cmd)
	if err != nil {
		return err
	}
	switch {
	case f.addSet != nil:
		if !cmd.has("param-key") {
			return cliFailure("When adding a key to a set, use the syntax: *-param-add param-name=<name> param-key=<key>")
		}
		return f.addSet(s, o, cmd.get("param-key"))
	case f.addMap != nil:
		for _, kv := range cmd.params {
			if slices.Contains([]string{"uuid", "param-name", "param-key"}, kv[0]) || slices.Contains(stdparams, kv[0]) {
				continue
			}
			if err := f.addMap(s, o, kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	case f.getSet != nil || f.getMap != nil:
		return cliFailure("Parameter is read-only")
	}
	return cliFailure("Can only add to parameters of type Set or Map")
}

func (cl *class) paramRemove(s *state, p *out, cmd command) error {
	o, f, err := cl.param(s, cmd)
	if err != nil {
		return err
	}
	key := cmd.get("param-key")
	switch {
	case f.getSet != nil && f.removeSet != nil:
		if !slices.Contains(f.getSet(s, o), key) {
			return cliFailure("Key is not in the set")
		}
		return f.removeSet(s, o, key)
	case f.getMap != nil && f.removeMap != nil:
		for _, kv := range f.getMap(s, o) {
			if kv[0] == key {
				return f.removeMap(s, o, key)
			}
		}
		return cliFailure("Key is not in map")
	}
	return cliFailure("Can only remove from parameters of type Set or Map")
}

func (cl *class) paramClear(s *state, p *out, cmd command) error {
	o, f, err := cl.param(s, cmd)
	if err != nil {
		return err
	}
	switch {
	case f.getSet != nil && f.removeSet != nil:
		for _, m := range f.getSet(s, o) {
			if err := f.removeSet(s, o, m); err != nil {
				return err
			}
		}
		return nil
	case f.getMap != nil && f.removeMap != nil:
		for _, kv := range f.getMap(s, o) {
			if err := f.removeMap(s, o, kv[0]); err != nil {
				return err
			}
		}
		return nil
	case f.set != nil:
		if err := f.set(s, o, ""); err != nil {
			return cliFailure("Cannot clear this parameter")
		}
		return nil
	}
	return cliFailure("Can only clear RW parameters")
}
