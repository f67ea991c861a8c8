package ovs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// quoteAtom renders a string as ovs-vsctl prints an OVSDB string atom:
// bare when it reads as an identifier, else in double quotes with C escapes.
func quoteAtom(s string) string {
	if !needsQuotes(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuotes(s string) bool {
	if s == "" || s == "true" || s == "false" || uuidRE.MatchString(s) {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digit := c >= '0' && c <= '9'
		if i == 0 && !alpha && c != '_' {
			return true
		}
		if !alpha && !digit && c != '_' && c != '-' && c != '.' {
			return true
		}
	}
	return false
}

// formatMap renders an OVSDB map column: {k=v, k2="v 2"}, keys sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteAtom(k) + "=" + quoteAtom(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// formatInts renders an OVSDB integer set: [1, 2, 3]; an optional integer
// with one value prints bare when single is true.
func formatInts(v []int64, single bool) string {
	if single && len(v) == 1 {
		return strconv.FormatInt(v[0], 10)
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// unquoteAtom parses one string atom as ovs-vsctl reads it from the command
// line: either bare or double-quoted with C escapes.
func unquoteAtom(s string) (string, error) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return "", fmt.Errorf("%s: invalid quoted string", s)
		}
		return u, nil
	}
	return s, nil
}

// splitTopLevel splits s on sep outside double quotes, brackets and braces.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ && c == '\\':
			i++
		case c == '"':
			inQ = !inQ
		case inQ:
		case c == '[' || c == '{' || c == '(':
			depth++
		case c == ']' || c == '}' || c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseMapValue parses {k=v, k2=v2} (braces optional).
func parseMapValue(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, kv := range splitTopLevel(s, ',') {
		kv = strings.TrimSpace(kv)
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s: missing '=' in map", kv)
		}
		ku, err := unquoteAtom(k)
		if err != nil {
			return nil, err
		}
		vu, err := unquoteAtom(v)
		if err != nil {
			return nil, err
		}
		m[ku] = vu
	}
	return m, nil
}

// parseIntsValue parses 1,2,3 or [1, 2, 3] or [].
func parseIntsValue(s string) ([]int64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "[")
	s = strings.TrimSuffix(s, "]")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int64
	for _, p := range splitTopLevel(s, ',') {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid integer", strings.TrimSpace(p))
		}
		out = append(out, n)
	}
	return out, nil
}
