package xapid

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// handler is one API method. arity counts every parameter, the session
// included (MESSAGE_PARAMETER_COUNT_MISMATCH reports them without it).
type handler struct {
	arity     int
	maxArity  int  // if > arity, the call accepts arity..maxArity parameters
	noSession bool // session.login_with_password and friends
	noAsync   bool
	fn        func(c *call, a args) any
}

// call is the context of one executing API call.
type call struct {
	s       *Server
	ctx     context.Context
	session string
	task    string // the task ref when run through Async, else ""
}

// methods is the static method table; generic accessors are resolved by
// genericMethod.
var methods = map[string]handler{}

func register(name string, h handler) { methods[name] = h }

// className returns "VM" for "VM.start" and "Async.VM.start".
func className(method string) string {
	method = strings.TrimPrefix(method, "Async.")
	if i := strings.IndexByte(method, '.'); i >= 0 {
		return method[:i]
	}
	return method
}

// Call executes one API method in process, as an XML-RPC call would (the
// session, if the method takes one, is params[0]). It returns the Value of
// a Success, or an *APIError for a Failure.
func (s *Server) Call(ctx context.Context, method string, params ...any) (any, error) {
	v, err := s.call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Server) call(ctx context.Context, method string, params []any) (v any, aerr *APIError) {
	name, async := strings.CutPrefix(method, "Async.")
	h, ok := s.lookup(name)
	if !ok || (async && h.noAsync) {
		return nil, apiErr(ErrMessageMethodUnknown, method)
	}
	max := max(h.maxArity, h.arity)
	if len(params) < h.arity || len(params) > max {
		// xen-api ocaml/idl/ocaml_backend/gen_server.ml (XS62 line 251,
		// v1.249.0 line 284): [method, mandatory parameters, parameters
		// received], both without the session.
		session := 1
		if h.noSession {
			session = 0
		}
		return nil, apiErr(ErrMessageParameterCount, method, strconv.Itoa(h.arity-session), strconv.Itoa(len(params)-session))
	}
	c := &call{s: s, ctx: ctx}
	a := args(params)
	if !h.noSession {
		sess, ok := params[0].(string)
		if !ok {
			return nil, typeErr("session_id")
		}
		if err := s.checkSession(sess); err != nil {
			return nil, err
		}
		c.session = sess
		a = a[1:]
	}
	if async {
		return s.startTask(c, method, h, a), nil
	}
	return c.run(h, a)
}

// run executes a handler, turning an *APIError panic into the failure.
func (c *call) run(h handler, a args) (v any, aerr *APIError) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*APIError)
			if !ok {
				panic(r)
			}
			v, aerr = nil, e
		}
	}()
	return h.fn(c, a), nil
}

// fail aborts the current handler with an API error.
func fail(code string, params ...string) { panic(apiErr(code, params...)) }

// must aborts the current handler if err is not nil.
func must(err *APIError) {
	if err != nil {
		panic(err)
	}
}

func (s *Server) lookup(name string) (handler, bool) {
	if h, ok := methods[name]; ok {
		return h, true
	}
	// A field's accessors exist in the releases that have the field.
	if class, verb, ok := strings.Cut(name, "."); ok {
		if f, isField := fieldAccessor(verb); isField && !s.release.hasFieldIn(class, f) {
			return handler{}, false
		}
	}
	return genericMethod(name)
}

// genericMethod resolves the accessors every class has in xapi:
// get_record, get_all, get_all_records, get_by_uuid, get_by_name_label,
// get_<field>, set_<rw field>, add_to_/remove_from_<map field>,
// add_tags/remove_tags.
func genericMethod(name string) (handler, bool) {
	class, verb, ok := strings.Cut(name, ".")
	spec, known := classes[class]
	if !ok || !known {
		return handler{}, false
	}
	switch verb {
	case "get_all":
		return handler{arity: 1, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			return refs(c.s.db.all(class))
		}}, true
	case "get_all_records":
		return handler{arity: 1, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			out := map[string]any{}
			for _, o := range c.s.db.all(class) {
				out[o.ref] = c.s.db.record(o)
			}
			return out
		}}, true
	case "get_record":
		return handler{arity: 2, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			return c.s.db.record(c.obj(class, a.str(0, "self")))
		}}, true
	case "get_by_uuid":
		return handler{arity: 2, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			o, err := c.s.db.byUUID(class, a.str(0, "uuid"))
			must(err)
			return o.ref
		}}, true
	case "get_by_name_label":
		if !spec.nameLabel {
			return handler{}, false
		}
		return handler{arity: 2, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			return refs(c.s.db.where(class, "name_label", a.str(0, "label")))
		}}, true
	case "add_tags", "remove_tags":
		if !slices.Contains(spec.rw, "tags") {
			return handler{}, false
		}
		return handler{arity: 3, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			o := c.obj(class, a.str(0, "self"))
			tag := a.str(1, "value")
			tags := slices.DeleteFunc(slices.Clone(o.fields["tags"].([]string)), func(t string) bool { return t == tag })
			if verb == "add_tags" {
				tags = append(tags, tag)
			}
			c.s.db.set(o, map[string]any{"tags": tags})
			return ""
		}}, true
	}
	if f, ok := strings.CutPrefix(verb, "get_"); ok && hasField(class, f) {
		return handler{arity: 2, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			v, _ := c.s.db.field(c.obj(class, a.str(0, "self")), f)
			return v
		}}, true
	}
	if f, ok := strings.CutPrefix(verb, "set_"); ok && slices.Contains(spec.rw, f) {
		return handler{arity: 3, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			o := c.obj(class, a.str(0, "self"))
			c.s.db.set(o, map[string]any{f: convertLike(o.fields[f], a[1], "value")})
			return ""
		}}, true
	}
	if f, ok := strings.CutPrefix(verb, "add_to_"); ok && slices.Contains(spec.maps, f) {
		return handler{arity: 4, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			o := c.obj(class, a.str(0, "self"))
			k, v := a.str(1, "key"), a.str(2, "value")
			if k == "" {
				// xen-api ocaml/database/db_cache_types.ml add_to_map raises
				// Db_exn.Empty_key_in_map, which no error maps to a code:
				// the catch-all makes it INTERNAL_ERROR [Printexc.to_string e].
				fail(ErrInternalError, "Db_exn.Empty_key_in_map")
			}
			m := o.fields[f].(map[string]string)
			if _, dup := m[k]; dup {
				// MAP_DUPLICATE_KEY [class, field, ref, key]
				fail(ErrMapDuplicateKey, class, f, o.ref, k)
			}
			m = cloneMap(m)
			m[k] = v
			c.s.db.set(o, map[string]any{f: m})
			return ""
		}}, true
	}
	if f, ok := strings.CutPrefix(verb, "remove_from_"); ok && slices.Contains(spec.maps, f) {
		return handler{arity: 3, fn: func(c *call, a args) any {
			c.s.db.mu.Lock()
			defer c.s.db.mu.Unlock()
			o := c.obj(class, a.str(0, "self"))
			k := a.str(1, "key")
			m := cloneMap(o.fields[f].(map[string]string))
			delete(m, k)
			c.s.db.set(o, map[string]any{f: m})
			return ""
		}}, true
	}
	return handler{}, false
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// convertLike converts an argument to the type of the field's current value.
func convertLike(cur, v any, name string) any {
	a := args{v}
	switch cur.(type) {
	case string:
		return a.str(0, name)
	case int64:
		return a.int(0, name)
	case bool:
		return a.bool(0, name)
	case float64:
		return a.float(0, name)
	case map[string]string:
		return a.strMap(0, name)
	case []string:
		return a.strSet(0, name)
	}
	panic(typeErr(name))
}

// obj returns the object of class for ref or aborts with HANDLE_INVALID.
// The caller holds the db lock.
func (c *call) obj(class, ref string) *object {
	o, err := c.s.db.get(class, ref)
	must(err)
	return o
}

// fieldNames records, per class, the fields of its records, for get_<field>.
var fieldNames = map[string]map[string]bool{}

func noteFields(class string, rec map[string]any) {
	m := fieldNames[class]
	if m == nil {
		m = map[string]bool{}
		fieldNames[class] = m
	}
	for k := range rec {
		m[k] = true
	}
	for k := range reverse[class] {
		m[k] = true
	}
}

func hasField(class, f string) bool { return fieldNames[class][f] }
