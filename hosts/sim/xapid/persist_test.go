package xapid

import (
	"path/filepath"
	"testing"
	"time"
)

// TestStateFileWritesCoalesce changes the database without pause for
// about 1.2 s and counts the state file writes: at most one per
// saveInterval (the first saveQuiet after the first change), not one per
// change burst.
func TestStateFileWritesCoalesce(t *testing.T) {
	s, _, sess := newTestServer(t, Options{StateFile: filepath.Join(t.TempDir(), "xapi.json")})
	vm := one(t, mustCall(t, s, "VM.get_by_name_label", sess, DevstackTemplateName))
	base := s.saves.Load()
	start := time.Now()
	changes := 0
	for ; changes < 100000 && time.Since(start) < 700*time.Millisecond; changes++ {
		mustCall(t, s, "VM.set_name_description", sess, vm, "d")
		if changes%100 == 0 {
			time.Sleep(time.Millisecond) // let the saver run
		}
	}
	elapsed := time.Since(start)
	writes := s.saves.Load() - base
	t.Logf("%d changes in %v: %d state file writes", changes, elapsed, writes)
	const xapiFlush = 2 * time.Second // db_FLUSH_TIMER
	if limit := 1 + int64(elapsed/xapiFlush); writes > limit {
		t.Errorf("%d writes in %v of constant change, want at most %d", writes, elapsed, limit)
	}
}
