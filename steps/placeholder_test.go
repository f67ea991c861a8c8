package steps

import (
	"strings"
	"testing"
)

// TestPlaceholderPortAnswer reads readPort's answer as ovs-vsctl prints
// it (captured from Open vSwitch 3.1.0's ovs-vsctl --format=json --columns=name
// find Interface external_ids:xs-vif-uuid=U -- --columns=name,tag list
// Port; 1.4's lib/table.c prints the same JSON): several ports, an
// untagged one's tag the empty set, a tagged one's a number.
func TestPlaceholderPortAnswer(t *testing.T) {
	ports := `{"data":[["vif1.3",["set",[]]],["vif2.0",4095],["xapi1",["set",[]]],["bond0",["set",[]]]],"headings":["name","tag"]}`
	for _, c := range []struct {
		iface, want, err string
	}{
		{iface: `{"data":[["vif2.0"]],"headings":["name"]}`, want: "vif2.0/4095"},
		{iface: `{"data":[["vif1.3"]],"headings":["name"]}`, want: "vif1.3/"},
		{iface: `{"data":[],"headings":["name"]}`, err: "no Open vSwitch port has external_ids:xs-vif-uuid=U"},
		{iface: `{"data":[["vif9.0"]],"headings":["name"]}`, err: "interface vif9.0 of VIF U is on no port"},
		{iface: `{"data":[["vif1.3"],["vif2.0"]],"headings":["name"]}`, err: "unexpected answer"},
		{iface: `vif1.3`, err: "unexpected answer"},
	} {
		st, err := parsePortAnswer("U", []byte(c.iface+"\n"+ports+"\n"))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v (%+v), want an error with %q", c.iface, err, st, c.err)
		case c.err == "" && (err != nil || st.name+"/"+st.tag != c.want):
			t.Errorf("%s: %+v, %v, want %s", c.iface, st, err, c.want)
		}
	}
	if _, err := parsePortAnswer("U", []byte(`{"data":[["vif2.0"]],"headings":["name"]}`+"\n")); err == nil {
		t.Error("an answer without the ports' table was taken")
	}
}
