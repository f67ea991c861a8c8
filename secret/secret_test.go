package secret

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const pw = "hunter2"

// holder has a Secret in an exported and an unexported field, the way
// configs and clients carry one.
type holder struct {
	Password Secret
	hidden   Secret
}

// leaks reports whether out shows pw raw or in hex (either case).
func leaks(out string) bool {
	hex := fmt.Sprintf("%x", pw)
	return strings.Contains(out, pw) || strings.Contains(strings.ToLower(out), hex)
}

// TestEveryVerbPrintsTheMarker: every fmt verb, on the Secret, a pointer to
// it and a struct holding it, prints the marker (or "" when unset) and never
// the value.
func TestEveryVerbPrintsTheMarker(t *testing.T) {
	s := New(pw)
	h := holder{Password: s, hidden: s}
	for _, c := range []struct {
		verb       string
		set, unset string
	}{
		{"%v", Redacted, ""},
		{"%+v", Redacted, ""},
		{"%#v", `secret.Secret("<redacted>")`, "secret.Secret{}"},
		{"%s", Redacted, ""},
		{"%q", `"<redacted>"`, `""`},
		{"%x", Redacted, ""},
		{"%X", Redacted, ""},
		{"%d", Redacted, ""},
		{"%12s", "  " + Redacted, strings.Repeat(" ", 12)},
		{"%-12v|", Redacted + "  |", strings.Repeat(" ", 12) + "|"},
	} {
		if got := fmt.Sprintf(c.verb, s); got != c.set {
			t.Errorf("%s of a set secret = %q, want %q", c.verb, got, c.set)
		}
		if got := fmt.Sprintf(c.verb, Secret{}); got != c.unset {
			t.Errorf("%s of the unset secret = %q, want %q", c.verb, got, c.unset)
		}
		for _, v := range []any{&s, h, &h, []Secret{s}, map[string]Secret{"k": s}} {
			if out := fmt.Sprintf(c.verb, v); leaks(out) {
				t.Errorf("%s of %T leaked: %s", c.verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(s, " ", s.String(), " ", s.GoString()); leaks(got) || !strings.Contains(got, Redacted) {
		t.Errorf("Sprint/String/GoString = %q", got)
	}
}

// TestEncodersWriteTheMarker: JSON, XML, text marshalling and both slog
// handlers write the marker, never the value.
func TestEncodersWriteTheMarker(t *testing.T) {
	s := New(pw)
	h := holder{Password: s, hidden: s}
	jsonOf := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	xmlOf := func(v any) string {
		b, err := xml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("login", "pw", s, "holder", h, "unset", Secret{})
	slog.New(slog.NewJSONHandler(&js, nil)).Info("login", "pw", s, "holder", h, "unset", Secret{})
	for _, c := range []struct {
		name, got, want string
	}{
		{"json", jsonOf(s), `"\u003credacted\u003e"`},
		{"json unset", jsonOf(Secret{}), `""`},
		{"json struct", jsonOf(h), `{"Password":"\u003credacted\u003e"}`},
		{"json map key", jsonOf(map[Secret]int{s: 1}), `{"\u003credacted\u003e":1}`},
		{"xml", xmlOf(h), `<holder><Password>&lt;redacted&gt;</Password></holder>`},
		{"slog text", text.String(), `pw=<redacted>`},
		{"slog text unset", text.String(), `unset=""`},
		{"slog json", js.String(), `"pw":"<redacted>"`},
		{"slog json unset", js.String(), `"unset":""`},
	} {
		if leaks(c.got) || !strings.Contains(c.got, c.want) {
			t.Errorf("%s = %s, want it to contain %s", c.name, c.got, c.want)
		}
	}
	if b, err := s.MarshalText(); err != nil || string(b) != Redacted {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if v := s.LogValue(); v.String() != Redacted {
		t.Errorf("LogValue = %q", v)
	}
}

func TestNewRevealIsSet(t *testing.T) {
	s := New(pw)
	if s.Reveal() != pw || !s.IsSet() {
		t.Errorf("New(%q): Reveal %q, IsSet %v", pw, s.Reveal(), s.IsSet())
	}
	if New(pw) != New(pw) || New(pw) == New("other") || New("") != (Secret{}) {
		t.Error("== must compare values, and New(\"\") must be the zero Secret")
	}
	for _, unset := range []Secret{{}, New("")} {
		if unset.IsSet() || unset.Reveal() != "" || unset.String() != "" {
			t.Errorf("unset secret: IsSet %v, Reveal %q, String %q", unset.IsSet(), unset.Reveal(), unset.String())
		}
	}
}

// TestErrorsNeverShowTheValue: a Secret wrapped into an error message
// shows the marker, not the value.
func TestErrorsNeverShowTheValue(t *testing.T) {
	if e := fmt.Errorf("login with %v failed", New(pw)); leaks(e.Error()) {
		t.Errorf("wrapped error leaked: %v", e)
	}
}
