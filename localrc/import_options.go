package localrc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Credentials written inside another setting's value: EXTRA_OPTS=
// "--password=x", a mysql -px, a connection string's password=x or
// user:x@host. The importer writes none of them literally.

var (
	// secretOptionRE finds an option or key that names a credential,
	// followed by = or : and a value: --password=x, admin_token:x,
	// password=x. Group 1 is the value.
	secretOptionRE = regexp.MustCompile(`(?i)(?:^|[\s,;?&'"(])-{0,2}[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|secret|token|_key|_hash)\s*[=:]\s*([^\s'",;&)]+)`)
	// secretFlagRE finds --password x (the value in the next word).
	secretFlagRE = regexp.MustCompile(`(?i)(?:^|\s)--?[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|secret|token)\s+([^\s'"-][^\s'"]*)`)
	// shortPasswordRE finds mysql's -px (the password glued to -p).
	shortPasswordRE = regexp.MustCompile(`(?:^|\s)-p([^\s'"]+)`)
	// userinfoRE finds scheme://user:x@ in a URL.
	userinfoRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'"]*:([^\s/@'"]+)@`)
)

// span is a byte range of a string.
type span struct{ start, end int }

// secretSpans returns the ranges of s that are credential values, in
// order, not overlapping.
func secretSpans(s string) []span {
	var all []span
	for _, re := range []*regexp.Regexp{secretOptionRE, secretFlagRE, shortPasswordRE, userinfoRE} {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			all = append(all, span{m[2], m[3]})
		}
	}
	// sort by start, merge overlaps
	slices.SortFunc(all, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, sp := range all {
		if n := len(out); n > 0 && sp.start < out[n-1].end {
			if sp.end > out[n-1].end {
				out[n-1].end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// hasSecretOption reports whether s holds a credential value in one of the
// forms secretSpans finds.
func hasSecretOption(s string) bool {
	return len(secretSpans(strings.TrimSpace(s))) > 0
}

// piece is part of a pass-through value as the lab file writes it: text
// (as bash sees it inside double quotes) or, when env is set, an env()
// call in its place.
type piece struct {
	text string
	env  string
}

// secretPieces splits a pass-through value into text and the credentials
// it holds. A credential whose text is the literal value of a credential
// setting of the file is read from that setting's variable; any other is
// read from NAME_PASSWORD (NAME_PASSWORD_2, ...). Each is reported by the
// setting's name, never quoted.
func (m *mapper) secretPieces(v *shellVar, val segs) []piece {
	var out []piece
	for _, x := range val {
		if x.ref {
			out = append(out, piece{text: "${" + x.text + "}"})
			continue
		}
		at := 0
		for _, sp := range secretSpans(x.text) {
			out = append(out, piece{text: segs{{text: x.text[at:sp.start]}}.doubleQuoted()})
			out = append(out, piece{env: m.secretEnvFor(v, x.text[sp.start:sp.end])})
			at = sp.end
		}
		out = append(out, piece{text: segs{{text: x.text[at:]}}.doubleQuoted()})
	}
	return out
}

// secretEnvFor names the environment variable a credential found inside
// v's value is read from, and warns.
func (m *mapper) secretEnvFor(v *shellVar, secret string) string {
	if m.inlineSecrets == nil {
		m.inlineSecrets = map[string]string{}
		for _, name := range m.in.order {
			w := m.in.vars[name]
			if s, ok := w.value.literal(); ok && s != "" && !w.isArray && secretRE.MatchString(name) {
				if _, dup := m.inlineSecrets[s]; !dup {
					m.inlineSecrets[s] = m.credRoot(name)
				}
			}
		}
	}
	name, known := m.inlineSecrets[secret]
	if !known {
		name = v.name + "_PASSWORD"
		for n := 2; m.envTaken(name); n++ {
			name = fmt.Sprintf("%s_PASSWORD_%d", v.name, n)
		}
		m.inlineSecrets[secret] = name
	}
	m.useEnv(name)
	if m.inlineWarned == nil {
		m.inlineWarned = map[string]bool{}
	}
	if key := v.name + "=" + name; !m.inlineWarned[key] {
		m.inlineWarned[key] = true
	} else {
		return name
	}
	m.warnf(v, "holds a credential (not shown: --password=..., -p..., password=... or user:...@); the lab file reads it with env(%q): export it before validate/up", name)
	return name
}

// envTaken reports whether name is already a variable of the file or one
// the lab file reads.
func (m *mapper) envTaken(name string) bool {
	return m.in.vars[name] != nil || slices.Contains(m.envVars, name)
}
