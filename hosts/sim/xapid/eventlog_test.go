package xapid

import (
	goruntime "runtime"
	"strings"
	"testing"
)

// heapInUse returns the live heap after a collection.
func heapInUse() int64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestEventHistoryIsBounded renames a VM 100 times with 1 MiB labels and
// counts the bytes the server retains afterwards: event.from keeps no
// snapshots (it reads the current records), and event.next's queue of
// snapshots is filled only for a registered session, cut at maxNextBytes.
func TestEventHistoryIsBounded(t *testing.T) {
	const renames, label = 100, 1 << 20
	s, _, sess := newTestServer(t, Options{})
	vm := one(t, mustCall(t, s, "VM.get_by_name_label", sess, DevstackTemplateName))
	token := mustCall(t, s, "event.from", sess, []any{"VM"}, "", 0.0).(map[string]any)["token"].(string)
	rename := func() {
		for i := range renames {
			mustCall(t, s, "VM.set_name_label", sess, vm, strings.Repeat(string(rune('a'+i%26)), label))
		}
	}
	before := heapInUse()
	rename()
	grown := heapInUse() - before
	t.Logf("%d renames of %d bytes, nobody registered: heap grew by %d bytes", renames, label, grown)
	if grown > 8*label {
		t.Errorf("the server retains %d bytes after %d renames of %d bytes", grown, renames, label)
	}
	// event.from still gives the change, once, with the current record.
	evs := mustCall(t, s, "event.from", sess, []any{"VM"}, token, 0.0).(map[string]any)["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["operation"] != "mod" ||
		!strings.HasPrefix(evs[0].(map[string]any)["snapshot"].(map[string]any)["name_label"].(string), string(rune('a'+(renames-1)%26))) {
		t.Fatalf("event.from after the renames: %d events", len(evs))
	}

	// A registered session that never reads: the queue stops at maxNextBytes.
	mustCall(t, s, "event.register", sess, []any{"VM"})
	before = heapInUse()
	rename()
	grown = heapInUse() - before
	t.Logf("with event.register: heap grew by %d bytes (queue %d bytes)", grown, s.db.nextBytes)
	if s.db.nextBytes > maxNextBytes || grown > maxNextBytes+8*label {
		t.Errorf("queue %d bytes, heap grew by %d", s.db.nextBytes, grown)
	}
	wantErr(t, s, []string{"EVENTS_LOST"}, "event.next", sess)
	// Once no session is registered, nothing stays queued.
	mustCall(t, s, "session.logout", sess)
	if s.db.nextBytes != 0 || len(s.db.next) != 0 {
		t.Errorf("after the only registered session logged out: %d events, %d bytes queued", len(s.db.next), s.db.nextBytes)
	}
}

// TestEventFromDeletion: event.from reports a deletion after the token
// without a snapshot, and nothing for an object made and gone after it.
func TestEventFromDeletion(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "a", "other_config": map[string]any{}}).(string)
	token := mustCall(t, s, "event.from", sess, []any{"network"}, "", 0.0).(map[string]any)["token"].(string)
	brief := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "b", "other_config": map[string]any{}}).(string)
	mustCall(t, s, "network.destroy", sess, brief)
	mustCall(t, s, "network.destroy", sess, net)
	evs := mustCall(t, s, "event.from", sess, []any{"network"}, token, 0.0).(map[string]any)["events"].([]any)
	if len(evs) != 1 {
		t.Fatalf("%d events, want the deletion of %s: %v", len(evs), net, evs)
	}
	e := evs[0].(map[string]any)
	if _, has := e["snapshot"]; e["operation"] != "del" || e["ref"] != net || has {
		t.Fatalf("event %v", e)
	}
}
