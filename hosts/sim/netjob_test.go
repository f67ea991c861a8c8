package sim

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"xenlab/hosts/sim/xapid"
	"xenlab/templates"
)

// TestXenstoreInterfaces: a guest does what xenlab's interfaces job does:
// with the template's mark and vm-data/network_interfaces, the file
// replaces the guest's (the installer's on a first boot) and its network
// comes up from it; without the mark, without the key, or with a value
// that is not base64, the guest's file stays.
func TestXenstoreInterfaces(t *testing.T) {
	installer := "auto eth0\niface eth0 inet dhcp\n"
	lab := "auto eth1\niface eth1 inet static\n  address 10.255.255.255\n  netmask 255.255.255.0\n\nauto eth0\niface eth0 inet dhcp\n"
	mark := map[string]string{templates.InterfacesJobKey: templates.InterfacesXenstoreKey}
	given := map[string]string{templates.InterfacesXenstoreKey: base64.StdEncoding.EncodeToString([]byte(lab))}
	for _, c := range []struct {
		name   string
		g      xapid.Guest
		want   string
		static bool
	}{
		{"marked", xapid.Guest{OtherConfig: mark, VMData: given}, lab, true},
		{"no mark", xapid.Guest{VMData: given}, installer, false},
		{"no key", xapid.Guest{OtherConfig: mark}, installer, false},
		{"not base64", xapid.Guest{OtherConfig: mark, VMData: map[string]string{templates.InterfacesXenstoreKey: "%%"}}, installer, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if err := diskInterfaces(root, installer); err != nil { // the first boot, as guest.go orders them
				t.Fatal(err)
			}
			if err := xenstoreInterfaces(root, c.g); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(root, "etc", "network", "interfaces"))
			if err != nil || string(b) != c.want {
				t.Fatalf("interfaces %q (%v), want %q", b, err, c.want)
			}
			confs, err := readInterfaces(root)
			if err != nil {
				t.Fatal(err)
			}
			if got := confs["1"].static && confs["1"].addr == "10.255.255.255"; got != c.static {
				t.Errorf("eth1 static at 10.255.255.255: %v, want %v (%+v)", got, c.static, confs)
			}
		})
	}
}
