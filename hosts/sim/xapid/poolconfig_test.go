package xapid

import (
	"testing"
	"time"
)

// TestPoolOtherConfigMap checks pool.add_to_other_config,
// remove_from_other_config and get_other_config as xen-api does them
// (ocaml/database/db_cache_types.ml add_to_map / remove_from_map, and
// xapi's error_of_exn for the codes): an existing key is
// MAP_DUPLICATE_KEY [class, field, ref, key] whatever the value, the map is
// unchanged by the refused add; removing a missing key succeeds; an empty
// key is INTERNAL_ERROR. xenlab's host lock relies on the first two.
func TestPoolOtherConfigMap(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	pool := one(t, mustCall(t, s, "pool.get_all", sess))

	mustCall(t, s, "pool.add_to_other_config", sess, pool, "xenlab-lock", "a")
	for _, v := range []string{"a", "b"} { // the same value too: xapi's default is the non-idempotent add
		wantErr(t, s, []string{ErrMapDuplicateKey, "pool", "other_config", pool, "xenlab-lock"},
			"pool.add_to_other_config", sess, pool, "xenlab-lock", v)
	}
	if oc := mustCall(t, s, "pool.get_other_config", sess, pool).(map[string]string); oc["xenlab-lock"] != "a" {
		t.Fatalf("other_config after a refused add: %v", oc)
	}
	mustCall(t, s, "pool.remove_from_other_config", sess, pool, "xenlab-lock")
	mustCall(t, s, "pool.remove_from_other_config", sess, pool, "xenlab-lock") // missing: no error
	if _, ok := mustCall(t, s, "pool.get_other_config", sess, pool).(map[string]string)["xenlab-lock"]; ok {
		t.Fatal("xenlab-lock still in other_config after remove")
	}
	mustCall(t, s, "pool.add_to_other_config", sess, pool, "xenlab-lock", "c") // free again
	wantErr(t, s, []string{ErrInternalError, "Db_exn.Empty_key_in_map"},
		"pool.add_to_other_config", sess, pool, "", "v")
	wantErr(t, s, []string{ErrHandleInvalid, "pool", "OpaqueRef:nope"},
		"pool.add_to_other_config", sess, "OpaqueRef:nope", "k", "v")
}

// TestHostGetServertime checks host.get_servertime: the host's clock in
// UTC, whole seconds (xapi's datetimes have no fraction).
func TestHostGetServertime(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	host := one(t, mustCall(t, s, "host.get_all", sess))
	before := time.Now().UTC().Truncate(time.Second)
	got, ok := mustCall(t, s, "host.get_servertime", sess, host).(time.Time)
	after := time.Now().UTC()
	if !ok || got.Before(before) || got.After(after) || got.Location() != time.UTC || got.Nanosecond() != 0 {
		t.Fatalf("host.get_servertime = %v (%T), want a UTC time in whole seconds between %v and %v", got, got, before, after)
	}
	wantErr(t, s, []string{ErrHandleInvalid, "host", "OpaqueRef:nope"}, "host.get_servertime", sess, "OpaqueRef:nope")
}
