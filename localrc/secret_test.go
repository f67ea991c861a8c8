package localrc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"xenlab/secret"
)

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2"
	s := secret.New(pw)
	h := Host{Name: "xs1", XAPIPassword: s, SSHPassword: s}
	cfg := Config{Hosts: []Host{h}, DomU: DomU{Password: s}, Devstack: Devstack{Extra: []Setting{{Name: "ADMIN_PASSWORD", Value: pw, Sensitive: true}}}}
	var outputs []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%10s"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, cfg))
	}
	outputs = append(outputs, s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintln(&h))
	for _, v := range []any{s, h, cfg} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "host", h, "secret", s)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg, "secret", s)
	outputs = append(outputs, buf.String())
	for _, o := range outputs {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(fmt.Sprint(s), "<redacted>") {
		t.Errorf("Print shows %q", fmt.Sprint(s))
	}
	if s.Reveal() != pw || !s.IsSet() || (Secret{}).IsSet() {
		t.Errorf("Reveal/IsSet broken")
	}
	if got := (Setting{Name: "A", Value: "v"}).String(); got != "A=v" {
		t.Errorf("non-sensitive setting = %q", got)
	}
}
