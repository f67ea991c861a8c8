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

// The value after an option: a single- or double-quoted word (the quotes
// kept, the text inside replaced) or a bare word, which for an option
// (-x, --x) runs to white space and for a key in a list stops at , ; & ).
const (
	quotedValue = `'([^']*)'|"([^"]*)"`
	credKey     = `[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|secret|token|[_-]key|[_-]hash)`
)

var (
	// secretFlagRE finds --password=x, --os-password x, -password:x.
	secretFlagRE = regexp.MustCompile(`(?i)(?:^|[\s(])--?` + credKey + `(?:\s*[=:]\s*|\s+)(?:` + quotedValue + `|([^\s'"-][^\s'"]*))`)
	// secretKeyRE finds password=x, admin_token: x in a key=value list.
	secretKeyRE = regexp.MustCompile(`(?i)(?:^|[\s,;?&'"(])` + credKey + `\s*[=:]\s*(?:` + quotedValue + `|([^\s'",;&)]+))`)
	// shortPasswordRE finds mysql's -px (the password glued to -p).
	shortPasswordRE = regexp.MustCompile(`(?:^|\s)-p(?:` + quotedValue + `|([^\s'"]+))`)
	// userinfoRE finds scheme://user:x@ in a URL (to the last @ before
	// the path, as URL parsers read it).
	userinfoRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'"]*:([^\s/'"]+)@`)
)

// span is a byte range of a string.
type span struct{ start, end int }

// secretSpans returns the ranges of s that are credential values, in
// order, not overlapping.
func secretSpans(s string) []span {
	var all []span
	for _, re := range []*regexp.Regexp{secretFlagRE, secretKeyRE, shortPasswordRE, userinfoRE} {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			for g := 1; g < len(m)/2; g++ { // the value group that matched
				if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
					all = append(all, span{m[2*g], m[2*g+1]})
					break
				}
			}
		}
	}
	return mergeSpans(all)
}

// mergeSpans sorts spans by start and merges the overlapping ones.
func mergeSpans(all []span) []span {
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

// minKnownSecret is the shortest credential value the importer looks for
// as plain text inside other values: a shorter one would match unrelated
// text, and its env() there would tell the reader what the password is.
const minKnownSecret = 6

// secretPieces splits a pass-through value into text and the credentials
// it holds: values of credential options (secretSpans), and the literal
// value of any credential the file sets (minKnownSecret characters or
// more) wherever it appears. A credential whose text is the literal value
// of a credential setting of the file is read from that setting's
// variable; any other from NAME_PASSWORD (NAME_PASSWORD_2, ...). Each is
// reported by the setting's name, never quoted.
func (m *mapper) secretPieces(v *shellVar, val segs) []piece {
	known := m.knownSecrets()
	var out []piece
	for _, x := range val {
		if x.ref {
			out = append(out, piece{text: "${" + x.text + "}"})
			continue
		}
		spans := secretSpans(x.text)
		for secret := range known {
			if len(secret) < minKnownSecret {
				continue
			}
			for i := 0; ; {
				j := strings.Index(x.text[i:], secret)
				if j < 0 {
					break
				}
				spans = append(spans, span{i + j, i + j + len(secret)})
				i += j + len(secret)
			}
		}
		at := 0
		for _, sp := range mergeSpans(spans) {
			out = append(out, piece{text: segs{{text: x.text[at:sp.start]}}.doubleQuoted()})
			out = append(out, piece{env: m.secretEnvFor(v, x.text[sp.start:sp.end])})
			at = sp.end
		}
		out = append(out, piece{text: segs{{text: x.text[at:]}}.doubleQuoted()})
	}
	return out
}

// knownSecrets maps the literal values of the file's credential settings
// to the variable the lab file reads each from.
func (m *mapper) knownSecrets() map[string]string {
	if m.inlineSecrets == nil {
		m.inlineSecrets = map[string]string{}
		credential := map[string]bool{}
		for _, name := range m.in.order {
			credential[name] = secretRE.MatchString(name) || m.in.feeds[name]
		}
		for _, name := range m.in.order {
			w := m.in.vars[name]
			if s, ok := w.value.literal(); ok && s != "" && !w.isArray && credential[name] {
				if _, dup := m.inlineSecrets[s]; !dup {
					m.inlineSecrets[s] = m.credRoot(name)
				}
			}
		}
	}
	return m.inlineSecrets
}

// secretEnvFor names the environment variable a credential found inside
// v's value is read from, and warns once per setting and variable.
func (m *mapper) secretEnvFor(v *shellVar, secret string) string {
	name, known := m.knownSecrets()[secret]
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
	m.warnf(v, "holds a credential (not shown: --password=..., -p..., password=..., user:...@ or a credential's value); the lab file reads it with env(%q): export it before validate/up", name)
	return name
}

// envTaken reports whether name is already a variable of the file or one
// the lab file reads.
func (m *mapper) envTaken(name string) bool {
	return m.in.vars[name] != nil || slices.Contains(m.envVars, name)
}
