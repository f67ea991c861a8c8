package localrc

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Credentials in an imported localrc: a setting whose name looks like one
// (secretRE) is read from the environment in the lab file, a value that
// refers to one keeps the reference (see interp.secretParam), and no warning
// quotes text that mentions one.

// mentionsSecret reports whether text contains a word (a run of letters,
// digits and '_') that looks like a credential's name: $MYSQL_PASSWORD,
// ${ADMIN_PASSWORD:?x}, --password=x. Such text is not quoted in warnings,
// since what follows the name may be its value.
func mentionsSecret(text string) bool {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !(r == '_' || r < 128 && (isAlpha(byte(r)) || isDigit(byte(r))))
	})
	for _, w := range words {
		if secretRE.MatchString(w) {
			return true
		}
	}
	return false
}

// useEnv records a variable the lab file reads with env(), for the summary.
func (m *mapper) useEnv(name string) {
	if !m.envSet[name] {
		m.envSet[name] = true
		m.envVars = append(m.envVars, name)
	}
}

// credRoot follows NAME=$OTHER references (interp.aliases) from name to
// the variable whose value they all share.
func (m *mapper) credRoot(name string) string {
	seen := map[string]bool{name: true}
	for {
		t, ok := m.in.aliases[name]
		if !ok || seen[t] {
			return name
		}
		seen[t] = true
		name = t
	}
}

// credential returns the environment variable the lab file reads a
// credential setting from, records it for the summary, and says why. A
// setting that is a reference to another variable (SERVICE_PASSWORD=
// $ADMIN_PASSWORD) is read from that variable's env(), so the two cannot
// drift apart. field: name has a lab field of its own.
func (m *mapper) credential(name string, field bool) string {
	root := m.credRoot(name)
	m.useEnv(root)
	v := m.in.vars[name]
	switch {
	case root != name:
		line := 0
		if v != nil {
			line = v.line
		}
		m.warns = append(m.warns, warning{line, fmt.Sprintf("%s: a reference to $%s; the lab file reads both from env(%q), export it before validate/up", name, root, root)})
	case v == nil:
	case len(otherRefs(v)) > 0:
		m.warnf(v, "computed from $%s, which is not translated; the lab file reads it with env(%q): export it with the value devstack would compute", strings.Join(otherRefs(v), ", $"), name)
	case field:
		m.warnf(v, "literal password dropped; the lab file reads it with env(%q): export it before running xenlab", name)
	default:
		m.warnf(v, "the literal was dropped; export %s before validate/up", name)
	}
	return root
}

// credentialNames lists the pass-through settings that are credentials:
// those whose name looks like one (secretRE), those whose assignment could
// not be translated, and any variable a credential is a reference to
// or is computed from (PW=secret; ADMIN_PASSWORD=$PW makes PW a credential
// too).
func (m *mapper) credentialNames(handled map[string]bool) []string {
	passThrough := func(name string) bool {
		return !handled[name] && mappedSettings[name] == "" && droppedSettings[name] == ""
	}
	set := map[string]bool{}
	for _, name := range m.in.order {
		if passThrough(name) && secretRE.MatchString(name) {
			set[name] = true
		}
	}
	for name := range m.in.skipped {
		if m.in.vars[name] == nil && passThrough(name) && secretRE.MatchString(name) {
			set[name] = true
		}
	}
	for name := range m.in.aliases {
		if root := m.credRoot(name); m.in.vars[root] != nil && passThrough(root) {
			set[root] = true
		}
	}
	for name := range m.in.feeds {
		if m.in.vars[name] != nil && passThrough(name) {
			set[name] = true
		}
	}
	return slices.Sorted(maps.Keys(set)) // the order extra is written in
}

// secretExtras writes every credential pass-through setting as
// env("NAME"), its literal dropped. A credential the file computes in a way
// that is not translated is read from the environment too: the file sets it,
// so devstack should get it.
func (m *mapper) secretExtras(handled map[string]bool) {
	for _, name := range m.credentialNames(handled) {
		handled[name] = true
		root := m.credential(name, false)
		m.passed[name] = true
		m.out.extra = append(m.out.extra, extraSetting{name: name, value: cty.StringVal(root), call: "env"})
	}
}

// otherRefs lists the variables other than itself a plain variable's value
// refers to (NAME=${NAME:-default} refers to none).
func otherRefs(v *shellVar) []string {
	if v.isArray {
		return nil
	}
	var out []string
	for _, r := range v.value.refs() {
		if r != v.name && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
