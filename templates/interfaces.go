package templates

import (
	"fmt"
	"net/netip"
)

// InterfacesFile is the template of domU's /etc/network/interfaces.
const InterfacesFile = "interfaces.tmpl"

// Interface is one of domU's network interfaces (eth<Device>): DHCP, or a
// static address with its netmask.
type Interface struct {
	Device  int
	Static  bool
	Address string // when Static: a.b.c.d
	Netmask string // when Static: a.b.c.d
}

// RenderInterfaces renders domU's /etc/network/interfaces (ifupdown), one
// stanza per interface in the order given (devstack's: public, VM network,
// management). Devices must be distinct, static addresses and netmasks
// IPv4.
func RenderInterfaces(ifs []Interface) ([]byte, error) {
	seen := map[int]bool{}
	for _, i := range ifs {
		if i.Device < 0 || seen[i.Device] {
			return nil, fmt.Errorf("templates: interfaces: device %d is negative or given twice", i.Device)
		}
		seen[i.Device] = true
		if !i.Static {
			continue
		}
		for _, v := range []string{i.Address, i.Netmask} {
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				return nil, fmt.Errorf("templates: interfaces: eth%d: %q is not an IPv4 address", i.Device, v)
			}
		}
	}
	return render(InterfacesFile, ifs)
}
