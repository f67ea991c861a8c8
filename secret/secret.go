// Package secret holds credentials (passwords, passphrases) so that they
// cannot leak by accident: a Secret prints, marshals and logs as Redacted,
// and only Reveal returns the value.
package secret

import (
	"fmt"
	"log/slog"
	"strconv"
	"unique"
)

// Redacted is what a set Secret prints instead of its value, with every fmt
// verb, in JSON and text encodings, and in slog output. Other code that
// hides a credential (a sensitive setting, a scrubbed error) uses it too,
// so logs show one marker.
const Redacted = "<redacted>"

// Secret holds a credential. Its zero value is the unset secret, which
// prints as "" so logs still show whether a credential was configured.
//
// The value is interned behind a unique.Handle: two Secrets are == exactly
// when their values are equal (so structs holding one stay comparable), and
// even reflection-based printing of a struct holding a Secret in an
// unexported field shows only an address, never the value.
type Secret struct {
	value unique.Handle[string]
}

// New wraps a credential the caller already holds. New("") is the unset
// Secret.
func New(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{value: unique.Make(value)}
}

// IsSet reports whether the secret holds a (non-empty) value.
func (s Secret) IsSet() bool { return s != Secret{} }

// Reveal returns the value ("" when unset). Call it only where the value is
// handed to what needs it: a login call, an SSH auth method.
func (s Secret) Reveal() string {
	if !s.IsSet() {
		return ""
	}
	return s.value.Value()
}

// String returns Redacted, or "" when the secret is unset.
func (s Secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string {
	if !s.IsSet() {
		return "secret.Secret{}"
	}
	return "secret.Secret(" + strconv.Quote(Redacted) + ")"
}

// Format implements fmt.Formatter so that every verb (%v, %s, %q, %x, %d,
// ...) prints String's text, honouring width and flags; %#v prints GoString.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = fmt.Fprint(f, s.GoString())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 'q'), s.String())
	default:
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 's'), s.String())
	}
}

// MarshalText encodes String's text (used by encoding/xml, slog's text
// handler, map keys in JSON and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON encodes String's text as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// LogValue implements slog.LogValuer so every slog handler logs String's
// text.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
