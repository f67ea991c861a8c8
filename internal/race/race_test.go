package race

import (
	"strings"
	"testing"
)

func TestChildEnv(t *testing.T) {
	t.Setenv("GORACE", "halt_on_error=1")
	got := ChildEnv()
	if !Enabled {
		if got != nil {
			t.Fatalf("without the race detector: %q, want nothing", got)
		}
		return
	}
	if len(got) != 1 || got[0] != "GORACE=halt_on_error=1 atexit_sleep_ms=0" {
		t.Fatalf("ChildEnv() = %q", got)
	}
	t.Setenv("GORACE", "atexit_sleep_ms=50")
	if got := ChildEnv(); len(got) != 1 || !strings.HasSuffix(got[0], "=atexit_sleep_ms=50") {
		t.Fatalf("a user's atexit_sleep_ms is not kept: %q", got)
	}
}
