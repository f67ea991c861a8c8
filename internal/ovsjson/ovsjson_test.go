package ovsjson

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// The shapes as ovs-vsctl --format=json prints them (Open vSwitch 3.1,
// Debian 12): a Port row's name, tag (empty set or number), interfaces
// (a uuid or a set) and other_config (a map).
func TestShapes(t *testing.T) {
	var row []any
	const line = `["int-br-eth1",["set",[]],1000,["uuid","a1"],["set",[["uuid","b1"],["uuid","b2"]]],["map",[["peer","phy-br-eth1"],["mtu","1500"]]],["set",["x"]]]`
	if err := json.Unmarshal([]byte(line), &row); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"int-br-eth1", "", "1000"} {
		if got := Atom(row[i]); got != want {
			t.Errorf("Atom(%v) = %q, want %q", row[i], got, want)
		}
	}
	if got := Atom(row[6]); got != "x" {
		t.Errorf("a set of one: %q, want x", got)
	}
	if got := UUIDs(row[3]); !slices.Equal(got, []string{"a1"}) {
		t.Errorf("UUIDs of a uuid: %q", got)
	}
	if got := UUIDs(row[4]); !slices.Equal(got, []string{"b1", "b2"}) {
		t.Errorf("UUIDs of a set: %q", got)
	}
	if got := UUIDs(row[0]); got != nil {
		t.Errorf("UUIDs of a string: %q, want nil", got)
	}
	if got, want := Map(row[5]), map[string]string{"peer": "phy-br-eth1", "mtu": "1500"}; !maps.Equal(got, want) {
		t.Errorf("Map: %v, want %v", got, want)
	}
	if got := Map(row[3]); got != nil {
		t.Errorf("Map of a uuid: %v, want nil", got)
	}
}
