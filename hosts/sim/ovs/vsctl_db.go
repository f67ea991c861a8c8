package ovs

import (
	"sort"
	"strings"
)

// lookupTable resolves a table name as ovs-vsctl does: case-insensitive,
// exact or a unique prefix.
func lookupTable(name string) (*tableSchema, error) {
	var hits []*tableSchema
	for _, t := range schemas {
		if strings.EqualFold(t.name, name) {
			return t, nil
		}
		if len(name) > 0 && strings.HasPrefix(strings.ToLower(t.name), strings.ToLower(name)) {
			hits = append(hits, t)
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	if len(hits) > 1 {
		return nil, failf("multiple table names match \"%s\"", name)
	}
	return nil, failf("unknown table \"%s\"", name)
}

// lookupColumn resolves a column name: exact, else a unique prefix.
func (t *tableSchema) lookupColumn(name string) (*column, error) {
	if c := t.column(name); c != nil {
		return c, nil
	}
	var hit *column
	for i := range t.cols {
		if strings.HasPrefix(t.cols[i].name, name) {
			if hit != nil {
				return nil, failf("%s contains more than one column whose name matches \"%s\"", t.name, name)
			}
			hit = &t.cols[i]
		}
	}
	if hit == nil {
		return nil, failf("%s does not contain a column whose name matches \"%s\"", t.name, name)
	}
	return hit, nil
}

// rows returns every row of table t, in a stable order.
func (m *model) rows(t *tableSchema) []*row {
	switch t {
	case schemaOpenVSwitch:
		return []*row{m.root}
	case schemaBridge:
		var rs []*row
		for _, b := range m.sortedBridges() {
			rs = append(rs, b.row)
		}
		return rs
	}
	var rs []*row
	for _, b := range m.sortedBridges() {
		ps := append([]*port(nil), b.ports...)
		sort.Slice(ps, func(i, j int) bool { return ps[i].strs["name"] < ps[j].strs["name"] })
		for _, p := range ps {
			if t == schemaPort {
				rs = append(rs, p.row)
			} else {
				rs = append(rs, p.iface.row)
			}
		}
	}
	return rs
}

// lookupRow finds a record by name ("." for Open_vSwitch) or UUID.
func (m *model) lookupRow(t *tableSchema, id string) (*row, error) {
	for _, r := range m.rows(t) {
		if r.uuid == id || (t != schemaOpenVSwitch && r.strs["name"] == id) || (t == schemaOpenVSwitch && id == ".") {
			return r, nil
		}
	}
	return nil, failf("no row \"%s\" in table %s", id, t.name)
}

// refs returns the UUIDs a reference column of r points at.
func (m *model) refs(t *tableSchema, r *row, col string) []string {
	var out []string
	switch {
	case t == schemaOpenVSwitch && col == "bridges":
		for _, b := range m.bridges {
			out = append(out, b.uuid)
		}
	case t == schemaBridge && col == "ports":
		for _, b := range m.bridges {
			if b.row == r {
				for _, p := range b.ports {
					out = append(out, p.uuid)
				}
			}
		}
	case t == schemaPort && col == "interfaces":
		for _, b := range m.bridges {
			for _, p := range b.ports {
				if p.row == r {
					out = append(out, p.iface.uuid)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// formatColumn renders one column of r as ovs-vsctl prints it.
func (m *model) formatColumn(t *tableSchema, r *row, c *column) string {
	switch c.kind {
	case kString:
		return quoteAtom(r.strs[c.name])
	case kOptString:
		if v, ok := r.strs[c.name]; ok {
			return quoteAtom(v)
		}
		return "[]"
	case kOptInt:
		return formatInts(r.ints[c.name], true)
	case kIntSet:
		return formatInts(r.ints[c.name], false)
	case kMap:
		return formatMap(r.maps[c.name])
	case kRefs:
		return "[" + strings.Join(m.refs(t, r, c.name), ", ") + "]"
	}
	return ""
}

// splitColumnKey splits "column:key" as ovs-vsctl's get/set/find do.
func splitColumnKey(s string) (col, key string, hasKey bool) {
	col, key, hasKey = strings.Cut(s, ":")
	return col, key, hasKey
}

func (m *model) tableRow(a []string, ifExists bool) (*tableSchema, *row, error) {
	t, err := lookupTable(a[0])
	if err != nil {
		return nil, nil, err
	}
	r, err := m.lookupRow(t, a[1])
	if err != nil {
		if ifExists {
			return t, nil, nil
		}
		return nil, nil, err
	}
	return t, r, nil
}

func (m *model) dbGet(a []string, ifExists bool) (string, error) {
	t, r, err := m.tableRow(a, ifExists)
	if err != nil || r == nil {
		return "", err
	}
	var out strings.Builder
	for _, spec := range a[2:] {
		name, key, hasKey := splitColumnKey(spec)
		c, err := t.lookupColumn(name)
		if err != nil {
			return "", err
		}
		if !hasKey {
			out.WriteString(m.formatColumn(t, r, c) + "\n")
			continue
		}
		if c.kind != kMap {
			return "", failf("cannot specify key to get for non-map column %s", c.name)
		}
		k, err := unquoteAtom(key)
		if err != nil {
			return "", failf("%s", err)
		}
		v, ok := r.maps[c.name][k]
		if !ok {
			if ifExists {
				continue
			}
			return "", failf("no key \"%s\" in %s record \"%s\" column %s", k, t.name, a[1], c.name)
		}
		out.WriteString(quoteAtom(v) + "\n")
	}
	return out.String(), nil
}

func (m *model) dbSet(a []string, ifExists bool) error {
	t, r, err := m.tableRow(a, ifExists)
	if err != nil || r == nil {
		return err
	}
	for _, spec := range a[2:] {
		if err := m.setColumn(t, r, spec); err != nil {
			return err
		}
	}
	return nil
}

// setColumn applies one "column[:key]=value" to r.
func (m *model) setColumn(t *tableSchema, r *row, spec string) error {
	lhs, val, ok := strings.Cut(spec, "=")
	if !ok {
		return failf("%s: argument does not end in \"=\" followed by a value.", spec)
	}
	name, key, hasKey := splitColumnKey(lhs)
	c, err := t.lookupColumn(name)
	if err != nil {
		return err
	}
	if c.readOnly || c.kind == kRefs {
		return failf("cannot modify read-only column %s in table %s", c.name, t.name)
	}
	if hasKey {
		if c.kind != kMap {
			return failf("cannot specify key to set for non-map column %s", c.name)
		}
		k, err := unquoteAtom(key)
		if err != nil {
			return failf("%s", err)
		}
		v, err := unquoteAtom(val)
		if err != nil {
			return failf("%s", err)
		}
		r.mapOf(c.name)[k] = v
		m.touched(t, r, c.name)
		return nil
	}
	switch c.kind {
	case kString, kOptString:
		v, err := unquoteAtom(val)
		if err != nil {
			return failf("%s", err)
		}
		if c.kind == kOptString && val == "[]" {
			delete(r.strs, c.name)
		} else {
			r.strs[c.name] = v
		}
	case kOptInt, kIntSet:
		ns, err := parseIntsValue(val)
		if err != nil {
			return failf("%s", err)
		}
		if c.kind == kOptInt && len(ns) > 1 {
			return failf("\"%s\" is not a valid integer", val)
		}
		for _, n := range ns {
			if c.max > 0 && (n < c.min || n > c.max) {
				return failf("constraint violation: %d is not in the valid range %d to %d (inclusive)", n, c.min, c.max)
			}
		}
		if u := sortedUnique(append([]int64(nil), ns...)); len(u) != len(ns) {
			return failf("%s: set contains duplicate value", val)
		}
		ns = sortedUnique(ns)
		if len(ns) == 0 {
			delete(r.ints, c.name)
		} else {
			r.ints[c.name] = ns
		}
	case kMap:
		mv, err := parseMapValue(val)
		if err != nil {
			return failf("%s", err)
		}
		r.maps[c.name] = mv
	}
	m.touched(t, r, c.name)
	return nil
}

// touched makes ovs-vswitchd reopen an interface that failed to open when
// what decides how it opens changes.
func (m *model) touched(t *tableSchema, r *row, col string) {
	if t == schemaInterface && (col == "type" || col == "options") {
		if v := r.ints["ofport"]; len(v) == 1 && v[0] == -1 {
			delete(r.ints, "ofport")
			delete(r.strs, "error")
		}
	}
}

func (m *model) dbClear(a []string, ifExists bool) error {
	t, r, err := m.tableRow(a, ifExists)
	if err != nil || r == nil {
		return err
	}
	for _, name := range a[2:] {
		c, err := t.lookupColumn(name)
		if err != nil {
			return err
		}
		if c.readOnly || c.kind == kRefs {
			return failf("cannot modify read-only column %s in table %s", c.name, t.name)
		}
		switch c.kind {
		case kString:
			return failf("\"clear\" operation cannot be applied to column %s of table %s, which is not allowed to be empty", c.name, t.name)
		case kOptString:
			delete(r.strs, c.name)
		case kOptInt, kIntSet:
			delete(r.ints, c.name)
		case kMap:
			delete(r.maps, c.name)
		}
		m.touched(t, r, c.name)
	}
	return nil
}

func (m *model) dbRemove(a []string, ifExists bool) error {
	t, r, err := m.tableRow(a, ifExists)
	if err != nil || r == nil {
		return err
	}
	c, err := t.lookupColumn(a[2])
	if err != nil {
		return err
	}
	for _, v := range a[3:] {
		switch c.kind {
		case kMap:
			k, val, isPair := strings.Cut(v, "=")
			k, _ = unquoteAtom(k)
			if isPair {
				val, _ = unquoteAtom(val)
				if r.maps[c.name][k] != val {
					continue
				}
			}
			delete(r.maps[c.name], k)
		case kOptInt, kIntSet:
			ns, err := parseIntsValue(v)
			if err != nil {
				return failf("%s", err)
			}
			var keep []int64
			for _, have := range r.ints[c.name] {
				drop := false
				for _, n := range ns {
					drop = drop || n == have
				}
				if !drop {
					keep = append(keep, have)
				}
			}
			r.ints[c.name] = keep
		default:
			return failf("\"remove\" of column %s is not modelled", c.name)
		}
	}
	m.touched(t, r, c.name)
	return nil
}

// sortedUnique returns ns sorted without duplicates, as an OVSDB set is.
func sortedUnique(ns []int64) []int64 {
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	var out []int64
	for i, n := range ns {
		if i == 0 || n != ns[i-1] {
			out = append(out, n)
		}
	}
	return out
}
