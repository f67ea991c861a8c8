package localrc

import "fmt"

// redacted is what a Secret prints instead of its value.
const redacted = "<redacted>"

// Secret holds a password or other credential. Every way of printing it
// (String, GoString, fmt verbs, JSON, text marshalling) yields "<redacted>";
// only Reveal returns the value, so a Config can be logged safely.
type Secret string

// Reveal returns the secret's value. Call it only where the value is handed
// to the thing that needs it (a login call, an SSH auth method).
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// String returns "<redacted>".
func (s Secret) String() string { return redacted }

// GoString returns "<redacted>" so %#v does not leak the value either.
func (s Secret) GoString() string { return `localrc.Secret("<redacted>")` }

// Format implements fmt.Formatter so every verb (%s, %v, %q, %x, ...) prints
// "<redacted>".
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", redacted)
	default:
		fmt.Fprint(f, redacted)
	}
}

// MarshalJSON encodes the secret as the string "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the secret as "<redacted>" (used by encoding/xml,
// slog's text handler and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
