package ovs

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// formatJSON prints rows as `ovs-vsctl --format=json` does:
// {"data":[[...],...],"headings":[...]} with values in OVSDB's JSON
// notation (["set",[...]], ["map",[[k,v],...]], ["uuid","..."]).
func (m *model) formatJSON(t *tableSchema, rs []*row, names []string) (string, error) {
	data := make([][]any, 0, len(rs))
	for _, r := range rs {
		var vals []any
		for _, n := range names {
			vals = append(vals, m.jsonColumn(t, r, n))
		}
		data = append(data, vals)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Data     [][]any  `json:"data"`
		Headings []string `json:"headings"`
	}{data, names}); err != nil {
		return "", failf("json: %v", err)
	}
	return b.String(), nil
}

func jsonSet(vals []any) any {
	if len(vals) == 1 {
		return vals[0]
	}
	if vals == nil {
		vals = []any{}
	}
	return []any{"set", vals}
}

func jsonMap(mv map[string]string) any {
	pairs := []any{}
	for _, k := range slices.Sorted(maps.Keys(mv)) {
		pairs = append(pairs, []any{k, mv[k]})
	}
	return []any{"map", pairs}
}

func (m *model) jsonColumn(t *tableSchema, r *row, name string) any {
	if name == "_uuid" {
		return []any{"uuid", r.uuid}
	}
	c := t.column(name)
	if c == nil {
		switch v := t.fixed[name]; {
		case v == "[]":
			return jsonSet(nil)
		case v == "{}":
			return jsonMap(nil)
		case v == "true" || v == "false":
			return v == "true"
		default:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
			return strings.Trim(v, `"`)
		}
	}
	switch c.kind {
	case kString:
		return r.strs[c.name]
	case kOptString:
		if v, ok := r.strs[c.name]; ok {
			return v
		}
		return jsonSet(nil)
	case kOptInt, kIntSet:
		var vals []any
		for _, n := range r.ints[c.name] {
			vals = append(vals, n)
		}
		return jsonSet(vals)
	case kMap:
		return jsonMap(r.maps[c.name])
	case kRefs:
		var vals []any
		for _, u := range m.refs(t, r, c.name) {
			vals = append(vals, []any{"uuid", u})
		}
		return jsonSet(vals)
	}
	return nil
}
