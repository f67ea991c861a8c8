package xe

import (
	"maps"
	"slices"
	"strings"
)

// state is one xe run: the connection and the records read so far (each
// class is read once, with get_all_records, when first needed).
type state struct {
	c     *client
	cache map[string]map[string]map[string]any // API class -> ref -> record
}

func newState(c *client) *state {
	return &state{c: c, cache: map[string]map[string]map[string]any{}}
}

// all returns every record of an API class; a class xapi does not serve
// has none.
func (s *state) all(class string) map[string]map[string]any {
	if m, ok := s.cache[class]; ok {
		return m
	}
	m := map[string]map[string]any{}
	if v, err := s.c.call(class + ".get_all_records"); err == nil {
		recs, _ := v.(map[string]any)
		for ref, r := range recs {
			if rec, ok := r.(map[string]any); ok {
				m[ref] = rec
			}
		}
	}
	s.cache[class] = m
	return m
}

// forget drops a class's records after a change.
func (s *state) forget(class string) { delete(s.cache, class) }

func (s *state) lookup(class, ref string) (map[string]any, bool) {
	if ref == "" || ref == "OpaqueRef:NULL" {
		return nil, false
	}
	r, ok := s.all(class)[ref]
	return r, ok
}

func (s *state) uuidOf(class, ref string) string {
	if r, ok := s.lookup(class, ref); ok {
		return str(r["uuid"])
	}
	return nid
}

func (s *state) nameOf(class, ref string) string {
	if r, ok := s.lookup(class, ref); ok {
		if n, has := r["name_label"]; has {
			return str(n)
		}
	}
	return nid
}

func (s *state) allUUIDs(class string) []string {
	var out []string
	for _, r := range s.all(class) {
		out = append(out, str(r["uuid"]))
	}
	slices.Sort(out)
	return out
}

// srHost is the SR's host as xe shows it: the host of its only PBD, else
// <shared> for several, else <not in database>.
func (s *state) srHost(o obj) string {
	pbds := strList(o.rec["PBDs"])
	switch len(pbds) {
	case 0:
		return nid
	case 1:
		if p, ok := s.lookup("PBD", pbds[0]); ok {
			return s.nameOf("host", str(p["host"]))
		}
		return nid
	}
	return "<shared>"
}

// setField calls <Class>.set_<api>(ref, value).
func (s *state) setField(o obj, api string, v any) error {
	_, err := s.c.call(o.class+".set_"+api, o.ref, v)
	s.forget(o.class)
	return err
}

// objects returns a class's objects in a stable order (by uuid).
func (s *state) objects(class string) []obj {
	recs := s.all(class)
	refs := slices.Collect(maps.Keys(recs))
	slices.SortFunc(refs, func(a, b string) int { return strings.Compare(str(recs[a]["uuid"]), str(recs[b]["uuid"])) })
	out := make([]obj, 0, len(refs))
	for _, r := range refs {
		out = append(out, obj{class: class, ref: r, rec: recs[r]})
	}
	return out
}

// byUUID finds an object of a class by uuid through xapi
// (<Class>.get_by_uuid, so a wrong one fails as xapi fails it).
func (s *state) byUUID(class, uuid string) (obj, error) {
	v, err := s.c.call(class+".get_by_uuid", uuid)
	if err != nil {
		return obj{}, err
	}
	ref := str(v)
	if r, ok := s.all(class)[ref]; ok {
		return obj{class: class, ref: ref, rec: r}, nil
	}
	s.forget(class)
	r := s.all(class)[ref]
	return obj{class: class, ref: ref, rec: r}, nil
}
