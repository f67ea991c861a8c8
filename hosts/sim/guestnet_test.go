package sim

import (
	"fmt"
	"maps"
	"net/netip"
	"testing"

	"xenlab/hosts/sim/xapid"
)

// TestGuestNetworkFromInterfaces: a guest's addresses are what its
// /etc/network/interfaces says: static ones as written, a DHCP lease only
// on the management network (the LAN), none by DHCP on an internal
// network; its SSH server listens at its management address when this
// machine can, else on an address nobody is told of.
func TestGuestNetworkFromInterfaces(t *testing.T) {
	vifs := []xapid.GuestVIF{{Device: "0", Bridge: xapid.ManagementBridge}, {Device: "1", Bridge: "xapi1"}, {Device: "2", Bridge: "xapi2"}}
	for _, tc := range []struct {
		name, file string
		nets       map[string]string
		listen     string
	}{
		{"devstack's defaults", "auto lo\niface lo inet loopback\n\nauto eth2\niface eth2 inet static\n  address 172.24.4.10\n  netmask 255.255.255.0\n" +
			"auto eth1\niface eth1 inet static\n  address 10.255.255.255/24\nauto eth0\niface eth0 inet dhcp\n  post-up ethtool -K eth0 tx off\n",
			map[string]string{"0/ip": "127.9.9.10", "1/ip": "10.255.255.255", "2/ip": "172.24.4.10"}, "127.9.9.10"},
		{"static management", "iface eth0 inet static\n address 127.9.9.200\n netmask 255.255.255.0\niface eth1 inet dhcp\n",
			map[string]string{"0/ip": "127.9.9.200"}, "127.9.9.200"},
		{"a management address of another network", "iface eth0 inet static\n address 192.0.2.50\n netmask 255.255.255.0\n",
			map[string]string{"0/ip": "192.0.2.50"}, "127.9.9.10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			confs, err := parseInterfaces([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			n := 10
			gn, err := planGuestNet(confs, vifs, func() (string, error) { n++; return fmt.Sprintf("127.9.9.%d", n-1), nil },
				func(a netip.Addr) bool { return a.As4()[0] == 127 })
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(gn.nets, tc.nets) || gn.listen != tc.listen {
				t.Errorf("networks %v listening at %s, want %v at %s", gn.nets, gn.listen, tc.nets, tc.listen)
			}
		})
	}
	for _, bad := range []string{"iface eth0 inet static\n", "iface eth0 inet static\n address 10.0.0.1\n", "iface eth0 inet static\n address 10.0.0.x\n netmask 255.0.0.0\n"} {
		if _, err := parseInterfaces([]byte(bad)); err == nil {
			t.Errorf("parseInterfaces(%q) succeeded", bad)
		}
	}
	if confs, err := readInterfaces(t.TempDir()); err != nil || !maps.Equal(confs, map[string]ifaceConf{"0": {}}) {
		t.Errorf("a guest without the file: %v %v, want eth0 by DHCP", confs, err)
	}
}
