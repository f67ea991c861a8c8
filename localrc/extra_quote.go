package localrc

import (
	"errors"
	"regexp"
	"strings"
)

// CredentialName reports whether a localrc setting's name is a
// credential's (it contains PASS, TOKEN or SECRET, ends in _KEY, or is
// SWIFT_HASH). domU's localrc writes such a setting of devstack.extra as
// it is, in single quotes, before the other settings: a password is text,
// never expanded, and the settings after it may refer to it.
func CredentialName(name string) bool { return secretRE.MatchString(name) }

// CheckDoubleQuoted says why s cannot be written between double quotes
// in domU's localrc, as every devstack.extra value that is not a
// credential's is (NAME="value", docs/configuration.md), or returns nil.
// bash expands $NAME, ${NAME} and ${NAME<op>word} there, which is the
// point (SCREEN_LOGDIR = "$${DEST}/logs"); what it refuses is what would
// end the quotes or run a command when devstack reads localrc: an
// unescaped ", a backquote, $(...) or $((...)), and ${...} forms other
// than those. A backslash escapes the character after it, as bash reads
// it inside double quotes. The error never quotes s: it may hold a
// credential.
func CheckDoubleQuoted(s string) error {
	_, err := scanDoubleQuoted(s, 0, 0)
	return err
}

// scanDoubleQuoted reads s from i as double-quoted text, up to the end
// (depth 0) or the '}' closing a ${NAME<op>word} (depth > 0), and returns
// the index after it.
func scanDoubleQuoted(s string, i, depth int) (int, error) {
	if depth > maxNesting {
		return 0, errors.New("${...} nested too deeply")
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '\\':
			i += 2
		case c == '"':
			return 0, errors.New(`an unescaped " would end the double quotes it is written in (domU's localrc needs \" for a quote: \\\" in the lab file's string)`)
		case c == '`':
			return 0, errors.New("a backquote would run a command when devstack reads localrc (domU's localrc needs \\` for one: \\\\` in the lab file's string)")
		case c == '}' && depth > 0:
			return i + 1, nil
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			return 0, errors.New("$(...) would run a command when devstack reads localrc (domU's localrc needs \\$ for a dollar sign: \\\\$ in the lab file's string)")
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			j := i + 2
			for j < len(s) && (isAlpha(s[j]) || isDigit(s[j]) || s[j] == '_') {
				j++
			}
			if !shellRE.MatchString(s[i+2 : j]) {
				return 0, errors.New("${ must be followed by a variable's name (${NAME}; domU's localrc needs \\$ for a dollar sign: \\\\$ in the lab file's string)")
			}
			if j < len(s) && s[j] == '}' {
				i = j + 1
				continue
			}
			op := ""
			for _, o := range []string{":-", ":=", ":+", "-", "=", "+"} {
				if strings.HasPrefix(s[j:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return 0, errors.New("only ${NAME} and ${NAME:-word} (-, :=, =, :+, +) are passed to domU's localrc")
			}
			end, err := scanDoubleQuoted(s, j+len(op), depth+1)
			if err != nil {
				return 0, err
			}
			i = end
		default:
			i++
		}
	}
	if depth > 0 {
		return 0, errors.New("a ${ is not closed by }")
	}
	return i, nil
}

// CredentialsIn returns the credentials a pass-through value holds where a
// credential goes (--password=x, -px, password=x, user:x@ in a URL), the
// literal ones only: a ${NAME} reference is the setting NAME's, which is a
// credential of its own.
func CredentialsIn(value string) []string {
	var out []string
	for _, sp := range secretSpans(value) {
		if c := value[sp.start:sp.end]; !refRE.MatchString(c) {
			out = append(out, c)
		}
	}
	return out
}

// refRE is a value that is only a reference, ${NAME} or $NAME.
var refRE = regexp.MustCompile(`^\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`)
