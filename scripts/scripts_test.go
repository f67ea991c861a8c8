package scripts

import (
	"strings"
	"testing"
)

// The embedded plugin is what dom0 executes: a python script (xapi runs it
// by its #! line) that carries xenlab's marker.
func TestNetwrapIsMarkedAndExecutable(t *testing.T) {
	if first, _, _ := strings.Cut(string(Netwrap), "\n"); first != "#!/usr/bin/env python" {
		t.Errorf("first line %q, want #!/usr/bin/env python (dom0's python on 6.x, 7.x and 8.x)", first)
	}
	if !IsXenlabNetwrap(Netwrap) {
		t.Error("scripts/netwrap lacks NetwrapMarker in its first lines")
	}
	if len(NetwrapSHA256()) != 64 {
		t.Errorf("checksum %q", NetwrapSHA256())
	}
}

func TestIsXenlabNetwrap(t *testing.T) {
	for _, c := range []struct {
		content string
		want    bool
	}{
		{"#!/usr/bin/env python\n" + NetwrapMarker + "\nimport os\n", true},
		{"#!/usr/bin/env python\r\n" + NetwrapMarker + "\n", true},
		// neutron's netwrap, from an earlier devstack
		{"#!/usr/bin/env python\n\n# Copyright 2012 OpenStack Foundation\n#\n# XenAPI plugin for executing network commands\n", false},
		// the marker quoted, not a line of its own
		{"#!/usr/bin/env python\nx = '" + NetwrapMarker + "'\n", false},
		// the marker far down a file is not xenlab's header
		{strings.Repeat("#\n", 10) + NetwrapMarker + "\n", false},
		{"", false},
	} {
		if got := IsXenlabNetwrap([]byte(c.content)); got != c.want {
			t.Errorf("IsXenlabNetwrap(%q) = %v, want %v", c.content, got, c.want)
		}
	}
}
