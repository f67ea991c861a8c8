package steps

import (
	"strings"
	"testing"
)

// TestProbeFrame: the probe is a broadcast Ethernet frame of the minimum
// size from traceSrc, 802.1Q-tagged with the VLAN, EtherType 0x88b5.
func TestProbeFrame(t *testing.T) {
	f := probeFrame(1000)
	if len(f) != 120 {
		t.Fatalf("%d hex digits, want 120 (60 bytes)", len(f))
	}
	want := "ffffffffffff" + "fa163e000001" + "810003e8" + "88b5" + "78656e6c6162" // "xenlab"
	if !strings.HasPrefix(f, want) {
		t.Errorf("frame %s, want it to start %s", f, want)
	}
	if got := probeFrame(4094)[24:32]; got != "81000ffe" {
		t.Errorf("VLAN 4094 tagged %s", got)
	}
}

// TestParseDumpPorts reads ovs-ofctl dump-ports as Open vSwitch 3.1 prints
// it (numbers, LOCAL, "?" for counters a patch port lacks) and as later
// ones do with names.
func TestParseDumpPorts(t *testing.T) {
	out := `OFPST_PORT reply (xid=0x2): 3 ports
  port LOCAL: rx pkts=0, bytes=0, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=0, bytes=0, drop=15, errs=0, coll=0
  port  1: rx pkts=8, bytes=656, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=11, bytes=690, drop=0, errs=0, coll=0
  port  2: rx pkts=9, bytes=550, drop=?, errs=?, frame=?, over=?, crc=?
           tx pkts=1, bytes=70, drop=?, errs=?, coll=?
  port  "tap1234": rx pkts=3, bytes=1, drop=0, errs=0, frame=0, over=0, crc=0
           tx pkts=4, bytes=2, drop=5, errs=0, coll=0
`
	m, err := parseDumpPorts(out)
	if err != nil {
		t.Fatal(err)
	}
	for port, want := range map[string]portCount{"LOCAL": {0, 0, 15}, "1": {8, 11, 0}, "2": {9, 1, 0}, "tap1234": {3, 4, 5}} {
		if m[port] != want {
			t.Errorf("port %s: %+v, want %+v", port, m[port], want)
		}
	}
	sw := ovsSwitch{ports: map[string]ovsPort{"vif1.1": {name: "vif1.1", ofport: "1"}}}
	if c, ok := counts(m, sw, "vif1.1"); !ok || c.tx != 11 {
		t.Errorf("vif1.1 by its OpenFlow number: %+v %v", c, ok)
	}
	if _, err := parseDumpPorts("  port  1: rx bytes=2\n"); err == nil {
		t.Error("a port line without pkts was read")
	}
}
