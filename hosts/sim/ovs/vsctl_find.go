package ovs

import (
	"fmt"
	"sort"
	"strings"
)

// matches reports whether r satisfies one find condition col[:key]=value.
func (m *model) matches(t *tableSchema, r *row, cond string) (bool, error) {
	lhs, val, ok := strings.Cut(cond, "=")
	if !ok || strings.HasSuffix(lhs, "!") || strings.ContainsAny(lhs, "<>{}") {
		return false, failf("%s: only \"column[:key]=value\" conditions are modelled", cond)
	}
	name, key, hasKey := splitColumnKey(lhs)
	c, err := t.lookupColumn(name)
	if err != nil {
		return false, err
	}
	if hasKey {
		if c.kind != kMap {
			return false, failf("cannot specify key to check for non-map column %s", c.name)
		}
		k, _ := unquoteAtom(key)
		v, _ := unquoteAtom(val)
		have, ok := r.maps[c.name][k]
		return ok && have == v, nil
	}
	switch c.kind {
	case kString, kOptString:
		v, _ := unquoteAtom(val)
		have, ok := r.strs[c.name]
		if c.kind == kOptString && val == "[]" {
			return !ok, nil
		}
		return ok && have == v, nil
	case kOptInt, kIntSet:
		ns, err := parseIntsValue(val)
		if err != nil {
			return false, failf("%s", err)
		}
		return formatInts(ns, false) == formatInts(r.ints[c.name], false), nil
	case kMap:
		mv, err := parseMapValue(val)
		if err != nil {
			return false, failf("%s", err)
		}
		return formatMap(mv) == formatMap(r.maps[c.name]), nil
	}
	return false, failf("find on column %s is not modelled", c.name)
}

func (m *model) dbFind(a []string, opts map[string]string) (string, error) {
	t, err := lookupTable(a[0])
	if err != nil {
		return "", err
	}
	var hits []*row
	for _, r := range m.rows(t) {
		all := true
		for _, cond := range a[1:] {
			ok, err := m.matches(t, r, cond)
			if err != nil {
				return "", err
			}
			all = all && ok
		}
		if all {
			hits = append(hits, r)
		}
	}
	return m.formatRecords(t, hits, opts)
}

func (m *model) dbList(a []string, opts map[string]string) (string, error) {
	t, err := lookupTable(a[0])
	if err != nil {
		return "", err
	}
	rs := m.rows(t)
	if len(a) > 1 {
		rs = nil
		for _, id := range a[1:] {
			r, err := m.lookupRow(t, id)
			if err != nil {
				if _, ok := opts["--if-exists"]; ok {
					continue
				}
				return "", err
			}
			rs = append(rs, r)
		}
	}
	return m.formatRecords(t, rs, opts)
}

// formatRecords prints rows in ovs-vsctl's "list" table format, or bare
// values with --bare; --columns selects and orders columns.
func (m *model) formatRecords(t *tableSchema, rs []*row, opts map[string]string) (string, error) {
	format := "list"
	if f, ok := opts["--format"]; ok {
		format = f
	}
	if f, ok := opts["-f"]; ok {
		format = f
	}
	if format != "list" && format != "json" {
		return "", failf("--format=%s is not modelled (list and json are)", format)
	}
	var names []string
	if cs, ok := opts["--columns"]; ok && cs != "" {
		for _, n := range strings.Split(cs, ",") {
			if n == "_uuid" {
				names = append(names, n)
				continue
			}
			if c, err := t.lookupColumn(n); err == nil {
				names = append(names, c.name)
			} else if _, fixed := t.fixed[n]; fixed {
				names = append(names, n)
			} else {
				return "", err
			}
		}
	} else {
		for _, c := range t.cols {
			names = append(names, c.name)
		}
		for n := range t.fixed {
			names = append(names, n)
		}
		sort.Strings(names)
		names = append([]string{"_uuid"}, names...)
	}
	if format == "json" {
		return m.formatJSON(t, rs, names)
	}
	_, bare := opts["--bare"]
	var out strings.Builder
	for i, r := range rs {
		if i > 0 {
			out.WriteString("\n")
		}
		for _, n := range names {
			var v string
			switch {
			case n == "_uuid":
				v = r.uuid
			case t.column(n) != nil:
				v = m.formatColumn(t, r, t.column(n))
			default:
				v = t.fixed[n]
			}
			if bare {
				out.WriteString(bareValue(v) + "\n")
			} else {
				fmt.Fprintf(&out, "%-20s: %s\n", n, v)
			}
		}
	}
	return out.String(), nil
}

// bareValue strips the brackets, braces and quotes --bare omits.
func bareValue(v string) string {
	if v == "[]" || v == "{}" {
		return ""
	}
	if (strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]")) || (strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}")) {
		v = strings.ReplaceAll(v[1:len(v)-1], ",", "")
	}
	if u, err := unquoteAtom(v); err == nil {
		return u
	}
	return v
}
