package xapid

import (
	"regexp"
	"testing"

	"xenlab/hosts/xapi/xmlrpc"
)

// TestEventFromTokenAndCounts: event.from's token is xapi's Token.to_string
// ("%020Ld,%020Ld", xen-api ocaml/xapi/xapi_event.ml, XS62 line 40,
// v1.249.0 line 48) and valid_ref_counts count every table, subscribed or
// not, as int32 (XS62 line 412, v1.249.0 line 512).
func TestEventFromTokenAndCounts(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	res := mustCall(t, s, "event.from", sess, []any{"network"}, "", 0.0).(map[string]any)
	token := res["token"].(string)
	if !regexp.MustCompile(`^[0-9]{20},0{20}$`).MatchString(token) {
		t.Fatalf("token %q", token)
	}
	counts := res["valid_ref_counts"].(map[string]any)
	vms := len(mustCall(t, s, "VM.get_all", sess).([]string))
	if counts["vm"] != xmlrpc.Int(vms) || counts["network"] != xmlrpc.Int(1) || counts["task"] != xmlrpc.Int(0) {
		t.Fatalf("valid_ref_counts %v (want vm %d, network 1, task 0)", counts, vms)
	}
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	res = mustCall(t, s, "event.from", sess, []any{"network"}, token, 0.0).(map[string]any)
	evs := res["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["ref"] != net || res["token"].(string) <= token {
		t.Fatalf("after the token: %v, token %v", evs, res["token"])
	}
	for _, bad := range []string{"5", "a,b", "1,2,3"} {
		wantErr(t, s, []string{"EVENT_FROM_TOKEN_PARSE_FAILURE", bad}, "event.from", sess, []any{"network"}, bad, 0.0)
	}
}
