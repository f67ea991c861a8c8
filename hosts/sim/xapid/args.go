package xapid

import (
	"strconv"
)

// args are the decoded parameters of one call after the session. Accessors
// panic with an *APIError on a wrong type; dispatch turns the panic back
// into the failure response, so handlers read straight-line.
type args []any

func typeErr(name string) *APIError { return apiErr(ErrFieldTypeError, name) }

func (a args) str(i int, name string) string {
	s, ok := a[i].(string)
	if !ok {
		panic(typeErr(name))
	}
	return s
}

func (a args) int(i int, name string) int64 {
	switch v := a[i].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return n
		}
	}
	panic(typeErr(name))
}

func (a args) float(i int, name string) float64 {
	switch v := a[i].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			return f
		}
	}
	panic(typeErr(name))
}

func (a args) bool(i int, name string) bool {
	switch v := a[i].(type) {
	case bool:
		return v
	case string:
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
	}
	panic(typeErr(name))
}

func (a args) strMap(i int, name string) map[string]string {
	return toStrMap(a[i], name)
}

func (a args) strSet(i int, name string) []string {
	return toStrSet(a[i], name)
}

func (a args) record(i int, name string) map[string]any {
	m, ok := a[i].(map[string]any)
	if !ok {
		panic(typeErr(name))
	}
	return m
}

func toStrMap(v any, name string) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				panic(typeErr(name))
			}
			out[k] = s
		}
	case map[string]string:
		for k, x := range m {
			out[k] = x
		}
	case nil:
	default:
		panic(typeErr(name))
	}
	return out
}

func toStrSet(v any, name string) []string {
	out := []string{}
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			s, ok := x.(string)
			if !ok {
				panic(typeErr(name))
			}
			out = append(out, s)
		}
	case []string:
		out = append(out, l...)
	case nil:
	default:
		panic(typeErr(name))
	}
	return out
}

// recordArg is the record argument of a create call; its methods read
// one field each.
type recordArg map[string]any

func (r recordArg) str(k, def string) string {
	v, ok := r[k]
	if !ok {
		return def
	}
	return args{v}.str(0, k)
}

func (r recordArg) reqStr(k string) string {
	if _, ok := r[k]; !ok {
		panic(typeErr(k))
	}
	return args{r[k]}.str(0, k)
}

func (r recordArg) int(k string, def int64) int64 {
	v, ok := r[k]
	if !ok {
		return def
	}
	return args{v}.int(0, k)
}

func (r recordArg) bool(k string, def bool) bool {
	v, ok := r[k]
	if !ok {
		return def
	}
	return args{v}.bool(0, k)
}

func (r recordArg) strMap(k string) map[string]string { return toStrMap(r[k], k) }
func (r recordArg) strSet(k string) []string          { return toStrSet(r[k], k) }
