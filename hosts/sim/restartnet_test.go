package sim

import (
	"context"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
)

// TestRestartKeepsItsNetwork: a host restarted on its state directory in
// the same process keeps its /24 (the lab file's addresses stay true):
// nothing of its former network is left where this machine's routes are
// read.
func TestRestartKeepsItsNetwork(t *testing.T) {
	needOwnNetwork(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	lans := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeReal, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		lans = append(lans, h.Endpoints().LAN)
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if lans[0] != lans[1] || lans[1] != lans[2] {
		t.Errorf("a host restarted three times had networks %v, want one", lans)
	}
}
