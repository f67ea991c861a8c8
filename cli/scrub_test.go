package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"xenlab/localrc"
	"xenlab/secret"
)

// TestScrubbedErrorsHideTheLabsSecrets: a command's error that quotes a
// password of the lab (which no code should do) is scrubbed as a last
// resort, while errors.Is still sees what it wraps.
func TestScrubbedErrorsHideTheLabsSecrets(t *testing.T) {
	const pw = "Zq-very-secret-9"
	o := &openedLab{cfg: &localrc.Config{
		Hosts: []localrc.Host{{Name: "xs1", XAPIPassword: secret.New(pw)}},
	}}
	inner := errors.New("boom")
	err := o.scrub(fmt.Errorf("host xs1: server said %s: %w", pw, inner))
	if strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), secret.Redacted) {
		t.Errorf("scrubbed error: %s", err)
	}
	if !errors.Is(err, inner) {
		t.Error("the scrubbed error no longer wraps its cause")
	}
	if o.scrub(nil) != nil {
		t.Error("scrub(nil) is not nil")
	}
}
