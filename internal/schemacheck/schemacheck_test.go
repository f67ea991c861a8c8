package schemacheck

import (
	"strings"
	"testing"
)

// TestEventsSchemaRejects: the events schema and this validator refuse
// each kind of wrong line, so a test that passes real output through them
// can fail. Each bad line is a good one with one thing changed.
func TestEventsSchemaRejects(t *testing.T) {
	s, err := LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	good := []string{
		`{"time":"2026-11-28T17:00:00.123Z","phase":"apply","step":"boot","kind":"started","attempt":1}`,
		`{"time":"2026-11-28T17:00:00Z","phase":"destroy","step":"domU","kind":"failed","duration_seconds":1.5,"attempt":2,"error":"x"}`,
		`{"kind":"counters","counters":{"sim":{"xapi_round_trips":26,"ssh_handshakes":1}}}`,
		`{"kind":"summary","phase":"apply","time":"2026-11-28T17:00:00Z","duration_seconds":3,"outcome":"failed","exit_code":1,"error":"e","steps":[{"name":"a","state":"done","start":"2026-11-28T17:00:00Z","duration_seconds":0.1,"attempts":1}],"counts":{"done":1}}`,
		`{"kind":"summary","phase":"destroy","time":"2026-11-28T17:00:00Z","duration_seconds":0,"outcome":"ok","exit_code":0,"steps":null,"counts":{}}`,
		`{"kind":"plan","steps":[{"name":"a","action":"none","depends_on":[]}],"pending":[]}`,
	}
	for _, l := range good {
		if err := s.ValidateJSON([]byte(l)); err != nil {
			t.Errorf("a valid line refused: %v\n%s", err, l)
		}
	}
	bad := map[string]string{
		"no kind":                `{"time":"2026-11-28T17:00:00Z","phase":"apply","step":"boot"}`,
		"unknown kind":           `{"time":"2026-11-28T17:00:00Z","phase":"apply","step":"boot","kind":"begun"}`,
		"unknown phase":          `{"time":"2026-11-28T17:00:00Z","phase":"plan","step":"boot","kind":"started"}`,
		"time not RFC 3339":      `{"time":"yesterday","phase":"apply","step":"boot","kind":"started"}`,
		"extra property":         `{"time":"2026-11-28T17:00:00Z","phase":"apply","step":"boot","kind":"started","hots":"xs1"}`,
		"attempt not integer":    `{"time":"2026-11-28T17:00:00Z","phase":"apply","step":"boot","kind":"retry","attempt":1.5}`,
		"negative duration":      `{"time":"2026-11-28T17:00:00Z","phase":"apply","step":"boot","kind":"done","duration_seconds":-1}`,
		"counter not a number":   `{"kind":"counters","counters":{"sim":{"xapi_round_trips":"26","ssh_handshakes":1}}}`,
		"counter missing":        `{"kind":"counters","counters":{"sim":{"xapi_round_trips":26}}}`,
		"summary without code":   `{"kind":"summary","phase":"apply","time":"2026-11-28T17:00:00Z","duration_seconds":3,"outcome":"ok","steps":[],"counts":{}}`,
		"summary bad outcome":    `{"kind":"summary","phase":"apply","time":"2026-11-28T17:00:00Z","duration_seconds":3,"outcome":"partial","exit_code":1,"steps":[],"counts":{}}`,
		"summary bad step state": `{"kind":"summary","phase":"apply","time":"2026-11-28T17:00:00Z","duration_seconds":3,"outcome":"ok","exit_code":0,"steps":[{"name":"a","state":"ok","duration_seconds":0,"attempts":1}],"counts":{"done":1}}`,
		"summary zero count":     `{"kind":"summary","phase":"apply","time":"2026-11-28T17:00:00Z","duration_seconds":3,"outcome":"ok","exit_code":0,"steps":[],"counts":{"done":0}}`,
		"plan bad action":        `{"kind":"plan","steps":[{"name":"a","action":"create","depends_on":[]}],"pending":[]}`,
		"plan without pending":   `{"kind":"plan","steps":[]}`,
		"not an object":          `["started"]`,
	}
	for name, l := range bad {
		err := s.ValidateJSON([]byte(l))
		if err == nil {
			t.Errorf("%s: accepted\n%s", name, l)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestParseRefusesUnknownKeywords: a schema keyword outside the subset is
// an error, never silently ignored.
func TestParseRefusesUnknownKeywords(t *testing.T) {
	for _, doc := range []string{
		`{"type":"object","patternProperties":{}}`,
		`{"properties":{"a":{"maxLength":3}}}`,
		`{"$ref":"#/$defs/none"}`,
		`{"$ref":"other.json#/x"}`,
		`{"format":"uri"}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse accepted %s", doc)
		} else if !strings.Contains(err.Error(), "schema") {
			t.Errorf("Parse(%s): %v, want an error that names the schema", doc, err)
		}
	}
}

// TestOneOfExactlyOne: a value that two branches match is refused.
func TestOneOfExactlyOne(t *testing.T) {
	s, err := Parse([]byte(`{"oneOf":[{"type":"string"},{"enum":["a"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateJSON([]byte(`"a"`)); err == nil || !strings.Contains(err.Error(), "2 branches") {
		t.Errorf("both branches match: %v", err)
	}
	if err := s.ValidateJSON([]byte(`"b"`)); err != nil {
		t.Errorf("one branch matches: %v", err)
	}
	if err := s.ValidateJSON([]byte(`1`)); err == nil {
		t.Error("no branch matches, accepted")
	}
}
