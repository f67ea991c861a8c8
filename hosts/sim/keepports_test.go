package sim

import (
	"context"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
)

// TestRestartKeepsItsPorts: a host restarted on its directory answers where
// it did (as a rebooted XenServer keeps its address), also where it had to
// take free ports instead of 443, 80 and 22: its lab file stays true, and
// so does the XENAPI_CONNECTION_URL that xenlab wrote into domU's localrc,
// so the next up rejoins the agents instead of running stack.sh again.
func TestRestartKeepsItsPorts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf}
	h, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	first := h.Endpoints()
	lab := string(h.LabFile())
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h, err = Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	again := h.Endpoints()
	for _, c := range [][3]string{{"xapi", first.XAPIURL, again.XAPIURL}, {"xapi over HTTP", first.XAPIHTTPURL, again.XAPIHTTPURL},
		{"dom0's SSH", first.Dom0SSH, again.Dom0SSH}} {
		if c[1] != c[2] {
			t.Errorf("%s: %s before the restart, %s after", c[0], c[1], c[2])
		}
	}
	if got := string(h.LabFile()); got != lab {
		t.Errorf("the lab file changed with the restart:\n%s\nthen:\n%s", lab, got)
	}
}
