package localrc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
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
// as bash sees it inside double quotes, references (${NAME}) included.
type piece struct {
	text string
}

// minKnownSecret is the shortest credential value the importer recognizes
// as a whole value of another setting: a shorter one is too likely to be
// an ordinary value that happens to equal it.
const minKnownSecret = 6

// minEmbeddedSecret is the shortest credential value that, found inside
// the text of another value, makes the importer drop that value: a
// password that long inside other text is the password, not a coincidence
// (as "citrix" in https://github.com/citrix-openstack/nova.git is), and a
// piece of text cannot be replaced without changing what the value means.
const minEmbeddedSecret = 12

// embeddedSecret returns the credential (minEmbeddedSecret characters or
// more) whose literal value occurs in v's value other than as a whole
// value or a credential option's value, and the variable it is read from.
func (m *mapper) embeddedSecret(values []segs) (string, bool) {
	for _, val := range values {
		if len(val) == 1 && !val[0].ref {
			if _, whole := m.knownSecrets()[val[0].text]; whole {
				continue
			}
		}
		for _, x := range val {
			if x.ref {
				continue
			}
			text := x.text
			for _, sp := range slices.Backward(m.credentialSpans(text)) {
				text = text[:sp.start] + "\x00" + text[sp.end:]
			}
			if root, found := m.findKnownSecret(text); found {
				return root, true
			}
		}
	}
	return "", false
}

// secretPieces renders a pass-through value, replacing each credential in
// it by a reference to a variable of domU's localrc that holds it
// (credentialRef). A credential is a whole value, never a piece of text:
// the value of a credential option or a URL's password (secretSpans:
// --password=x, -px, password=x, user:x@), or the whole value (an array's
// element) when it is the literal value of a credential the file sets. A
// password that merely occurs inside another value ("citrix" in
// https://github.com/citrix-openstack/nova.git) is left alone: it is not
// the credential there, and replacing it would break the value.
func (m *mapper) secretPieces(v *shellVar, val segs) []piece {
	if len(val) == 1 && !val[0].ref {
		if _, known := m.knownSecrets()[val[0].text]; known && len(val[0].text) >= minKnownSecret {
			return []piece{{text: "${" + m.credentialRef(v, val[0].text) + "}"}}
		}
	}
	var out []piece
	for _, x := range val {
		if x.ref {
			out = append(out, piece{text: "${" + x.text + "}"})
			continue
		}
		at := 0
		for _, sp := range m.credentialSpans(x.text) {
			out = append(out, piece{text: segs{{text: x.text[at:sp.start]}}.doubleQuoted()})
			out = append(out, piece{text: "${" + m.credentialRef(v, x.text[sp.start:sp.end]) + "}"})
			at = sp.end
		}
		out = append(out, piece{text: segs{{text: x.text[at:]}}.doubleQuoted()})
	}
	return out
}

// findKnownSecret finds in text a known secret of minEmbeddedSecret
// characters or more, by the first minEmbeddedSecret bytes of each: one
// map lookup per byte of text, whatever the number of secrets.
func (m *mapper) findKnownSecret(text string) (root string, found bool) {
	if m.prefixes == nil {
		m.prefixes = map[string][]string{}
		for secret := range m.knownSecrets() {
			if len(secret) >= minEmbeddedSecret {
				p := secret[:minEmbeddedSecret]
				m.prefixes[p] = append(m.prefixes[p], secret)
			}
		}
	}
	if len(m.prefixes) == 0 {
		return "", false
	}
	for i := 0; i+minEmbeddedSecret <= len(text); i++ {
		for _, secret := range m.prefixes[text[i:i+minEmbeddedSecret]] {
			if strings.HasPrefix(text[i:], secret) {
				return m.knownSecrets()[secret], true
			}
		}
	}
	return "", false
}

// credentialSpans returns the ranges of text that are credentials as
// whole values: secretSpans, and every word (a run without blanks, quotes
// around it not counted) that is the literal value of a credential the
// file sets, as "citrix" is in "swift -K citrix stat" but not in
// "https://github.com/citrix-openstack/nova.git".
func (m *mapper) credentialSpans(text string) []span {
	spans := secretSpans(text)
	for i := 0; i < len(text); {
		for i < len(text) && isBlank(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !isBlank(text[j]) {
			j++
		}
		a, b := i, j
		for a < b && (text[a] == '\'' || text[a] == '"') {
			a++
		}
		for b > a && (text[b-1] == '\'' || text[b-1] == '"') {
			b--
		}
		if _, known := m.knownSecrets()[text[a:b]]; known && b-a >= minKnownSecret {
			spans = append(spans, span{a, b})
		}
		i = j
	}
	return mergeSpans(spans)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// knownSecrets maps the literal values of the file's credential settings
// to the variable the lab file reads each from.
func (m *mapper) knownSecrets() map[string]string {
	if m.known == nil {
		m.known = map[string]string{}
		credential := map[string]bool{}
		for _, name := range m.in.order {
			credential[name] = secretRE.MatchString(name) || m.in.feeds[name]
		}
		for _, name := range m.in.order {
			w := m.in.vars[name]
			if s, ok := w.value.literal(); ok && s != "" && !w.isArray && credential[name] {
				if _, dup := m.known[s]; !dup {
					m.known[s] = m.credRoot(name)
				}
			}
		}
	}
	return m.known
}

// credentialRef names the variable of domU's localrc that holds secret,
// a credential found in v's value, and warns once per setting and
// variable. The variable is the credential setting the secret is the value
// of, when domU's localrc sets it before the pass-through settings
// (XENAPI_PASSWORD, and a credential passed through in devstack.extra,
// which domU's localrc writes first); otherwise a new setting
// <SETTING>_PASSWORD = env(...) in devstack.extra, read from the
// credential's own environment variable when the file sets it.
func (m *mapper) credentialRef(v *shellVar, secret string) string {
	if m.inDomU == nil {
		m.inDomU, m.refEnv = map[string]string{}, map[string]string{}
	}
	name, done := m.inDomU[secret]
	if !done {
		root, known := m.knownSecrets()[secret]
		switch {
		case known && secretRE.MatchString(root) && (root == "XENAPI_PASSWORD" || m.passed[root]):
			name = root
			m.refEnv[name] = m.credRoot(root)
		default:
			name = v.name + "_PASSWORD"
			for n := 2; m.envTaken(name); n++ {
				name = fmt.Sprintf("%s_PASSWORD_%d", v.name, n)
			}
			env := name
			if known {
				env = root
			}
			m.useEnv(env)
			m.passed[name] = true
			m.refEnv[name] = env
			m.out.extra = append(m.out.extra, extraSetting{name: name, value: cty.StringVal(env), call: "env"})
		}
		m.inDomU[secret] = name
	}
	if m.inlineWarned == nil {
		m.inlineWarned = map[string]bool{}
	}
	if key := v.name + "=" + name; !m.inlineWarned[key] {
		m.inlineWarned[key] = true
		m.warnf(v, "holds a credential (not shown: --password=..., -p..., password=..., user:...@ or a credential's whole value); written as ${%s}, which domU's localrc sets first (from env(%q): export it before validate/up)", name, m.refEnv[name])
	}
	return name
}

// envTaken reports whether name is already a variable of the file or one
// the lab file reads.
func (m *mapper) envTaken(name string) bool {
	return m.in.vars[name] != nil || m.envSet[name] || m.passed[name]
}
