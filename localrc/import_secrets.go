package localrc

import (
	"sort"
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
	for _, n := range m.envVars {
		if n == name {
			return
		}
	}
	m.envVars = append(m.envVars, name)
}

// secretExtras writes every credential-named pass-through setting as
// env("NAME"), its literal dropped. A credential the file computes in a way
// that is not translated is read from the environment too: the file sets it,
// so devstack should get it.
func (m *mapper) secretExtras(handled map[string]bool) {
	var names []string
	for _, name := range m.in.order {
		if !handled[name] && mappedSettings[name] == "" && droppedSettings[name] == "" && secretRE.MatchString(name) {
			names = append(names, name)
		}
	}
	for name := range m.in.skipped {
		if m.in.vars[name] == nil && mappedSettings[name] == "" && droppedSettings[name] == "" && secretRE.MatchString(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names) // the order extra is written in
	for _, name := range names {
		handled[name] = true
		m.out.extra = append(m.out.extra, extraSetting{name: name, value: cty.StringVal(name), call: "env"})
		m.useEnv(name)
		if v := m.in.vars[name]; v != nil {
			m.warnf(v, "the literal was dropped; export %s before validate/up", name)
		}
	}
}
