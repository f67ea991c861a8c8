package ssh

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secret holds a password. Its zero value is "no secret". It prints as
// "[redacted]" with every fmt verb, so a Config can be logged safely.
type Secret struct {
	value *string
}

// NewSecret wraps a secret value the caller already holds.
func NewSecret(value string) Secret { return Secret{value: &value} }

// SecretFromEnv reads a secret from the environment variable name. An unset
// or empty variable is an error naming the variable (never its value).
func SecretFromEnv(name string) (Secret, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return Secret{}, fmt.Errorf("secret: environment variable %s is not set", name)
	}
	return NewSecret(v), nil
}

// SecretFromFile reads a secret from the file at path; one trailing newline
// is removed. An empty file is an error.
func SecretFromFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secret: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return Secret{}, errors.New("secret: file " + path + " is empty")
	}
	return NewSecret(v), nil
}

// IsSet reports whether the secret holds a value.
func (s Secret) IsSet() bool { return s.value != nil }

// Reveal returns the secret value; call it only where the value is used.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// String returns "[redacted]" (or "" when unset).
func (s Secret) String() string {
	if s.value == nil {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "ssh.Secret(" + s.String() + ")" }

// Format keeps every fmt verb from printing the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText keeps encoders from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
