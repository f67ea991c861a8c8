package steps

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// walkThroughStatus is a lab as the walk-through shows it, fixed so that
// its rendering can be compared byte for byte.
func walkThroughStatus() *StatusReport {
	return &StatusReport{
		Host: "xs1",
		Networks: []StatusNetwork{
			{Role: RoleVMNetwork, UUID: "e455e048-ef88-4c03-af95-2182147b679e", NameLabel: "OpenStack VM Network", Bridge: "xapi0"},
			{Role: RolePublicNetwork, UUID: "248d835a-5526-4cc5-a76b-fe331a1074f9", NameLabel: "OpenStack Public Network", Bridge: "xapi1", Adopted: true},
			{Role: RoleIntegrationNetwork, UUID: "7d3e3ccc-aa9e-4131-b66a-45df4a6ae38e", NameLabel: "OpenStack VM Integration Network", Bridge: "xapi2"},
		},
		Switch: []StatusBridge{
			{Bridge: "xapi0", Ports: []StatusPort{{Name: "phy-xapi0"}, {Name: "vif1.1"}}},
			{Bridge: "xapi1", Ports: []StatusPort{{Name: "vif1.2"}}},
			{Bridge: "xapi2", Ports: []StatusPort{{Name: "int-xapi0"}, {Name: "vif1.3", Tag: "4095", Placeholder: true}}},
		},
		DomU: &StatusDomU{NameLabel: "DevStackOSDomU", UUID: "61cb408e-4b8e-48cf-9a22-3988b943db81", PowerState: "Running", IP: "192.168.56.10", Uptime: "3m4s"},
		DomUSwitch: &StatusDomUSwitch{
			Bridge: "br-int", Uplink: "int-br-eth1", UplinkLine: "3(int-br-eth1): addr:5a:bf:61:b5:45:49",
			Segment: 1000, LocalVLAN: "1",
			Flows: []string{"priority=3,in_port=3,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"},
			Ports: []StatusPort{{Name: "qr-e47010d0-dd", Tag: "1"}, {Name: "tap0964aee3-2d", Tag: "1"}, {Name: "tap-other", Tag: "2"}},
		},
	}
}

// TestStatusRenderingGolden: the walk-through's view as text for a pipe,
// for a terminal, and as JSON.
func TestStatusRenderingGolden(t *testing.T) {
	r := walkThroughStatus()
	noSwitch := walkThroughStatus()
	noSwitch.DomUSwitch = nil
	noSwitch.DomUSwitchError = "ssh domU: connection refused"
	for _, c := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"status.plain", func(b *bytes.Buffer) error { return r.WriteText(b, Plain) }},
		{"status.tty", func(b *bytes.Buffer) error { return r.WriteText(b, TTY) }},
		{"status.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"status-unread.plain", func(b *bytes.Buffer) error { return noSwitch.WriteText(b, Plain) }},
	} {
		t.Run(c.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.file+".golden")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./steps -run Golden -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, b.Bytes(), want)
			}
		})
	}
	var plain bytes.Buffer
	r.WriteText(&plain, Plain)
	if bytes.Contains(plain.Bytes(), []byte("\x1b")) {
		t.Errorf("plain text has escape sequences")
	}
}
