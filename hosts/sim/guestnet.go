package sim

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"xenlab/hosts/sim/xapid"
	"xenlab/templates"
)

// A simulated guest's network, as an Ubuntu 12.04 guest brings it up at
// boot: ifupdown reads /etc/network/interfaces (the file devstack's
// build_xva.sh wrote into domU's disk from MGT_IP, VM_IP and PUB_IP,
// print_interfaces_config), each "iface eth<N> inet static" interface
// takes its address, each "inet dhcp" one asks for a lease, and
// xe-guest-utilities reports every address in the VM's guest metrics
// ("<N>/ip"). Only the management network (dom0's xenbr0, the LAN) has a
// DHCP server: the lab's internal networks have none, so a DHCP interface
// there gets no address. A guest without the file is as the installer
// left it: eth0 by DHCP (netcfg, unless the installer's own address was
// static). Written apart from xenlab's templates package, so that a
// mistake in what xenlab writes shows here. docs/simulator.md, "Guest
// network".

// ifaceConf is one interface of the guest's interfaces file.
type ifaceConf struct {
	static bool
	addr   string // static: a.b.c.d
	bits   int    // static: prefix length (from netmask or /nn)
}

// diskInterfaces puts the interfaces file the installer wrote into the
// VM's disk (xapid.Guest.DiskInterfaces) in a guest's file system that
// has none yet: the installed system's, on its first boot; later boots
// keep what the guest's file says.
func diskInterfaces(root, content string) error {
	p := filepath.Join(root, "etc", "network", "interfaces")
	if content == "" {
		return nil
	}
	if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// xenstoreInterfaces does what xenlab's interfaces job
// (templates/netjob.go) does in a real guest, at every boot before
// networking starts: when the VM's template has the job
// (templates.InterfacesJobKey, which the simulator's prebuilt template
// carries, as xenlab's preseed installs it) and xenstore has
// templates.InterfacesXenstoreKey (the VM's xenstore_data, which xapi
// writes into the domain's xenstore at start), the file it carries,
// base64-encoded, becomes the guest's /etc/network/interfaces, which its
// network then comes up with. A value that is not base64 is what the job
// fails on: the guest keeps its file.
func xenstoreInterfaces(root string, g xapid.Guest) error {
	v, ok := g.VMData[templates.InterfacesXenstoreKey]
	if !ok || v == "" || g.OtherConfig[templates.InterfacesJobKey] == "" {
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	p := filepath.Join(root, "etc", "network", "interfaces")
	if have, err := os.ReadFile(p); err == nil && bytes.Equal(have, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// readInterfaces reads <root>/etc/network/interfaces; a missing file is
// eth0 by DHCP.
func readInterfaces(root string) (map[string]ifaceConf, error) {
	data, err := os.ReadFile(filepath.Join(root, "etc", "network", "interfaces"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]ifaceConf{"0": {}}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseInterfaces(data)
}

// parseInterfaces reads ifupdown's stanzas "iface eth<N> inet
// static|dhcp" with their address (a.b.c.d or a.b.c.d/nn) and netmask
// lines; other interfaces, methods and options are ignored, as they do not
// give an address. A static interface without an address is an error
// (ifup refuses it).
func parseInterfaces(data []byte) (map[string]ifaceConf, error) {
	out := map[string]ifaceConf{}
	cur := ""
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "iface":
			cur = ""
			if len(f) < 4 || f[2] != "inet" {
				continue
			}
			dev, ok := strings.CutPrefix(f[1], "eth")
			if _, err := strconv.Atoi(dev); !ok || err != nil {
				continue
			}
			switch f[3] {
			case "static":
				out[dev] = ifaceConf{static: true, bits: -1}
			case "dhcp":
				out[dev] = ifaceConf{}
			default:
				continue
			}
			cur = dev
		case "address", "netmask":
			c, ok := out[cur]
			if !ok || !c.static || len(f) < 2 {
				continue
			}
			if f[0] == "address" {
				a, bits, hasBits := strings.Cut(f[1], "/")
				if _, err := netip.ParseAddr(a); err != nil {
					return nil, fmt.Errorf("/etc/network/interfaces line %d: address %q", n+1, f[1])
				}
				c.addr = a
				if hasBits {
					b, err := strconv.Atoi(bits)
					if err != nil || b < 0 || b > 32 {
						return nil, fmt.Errorf("/etc/network/interfaces line %d: address %q", n+1, f[1])
					}
					c.bits = b
				}
			} else {
				m, err := netip.ParseAddr(f[1])
				if err != nil || !m.Is4() {
					return nil, fmt.Errorf("/etc/network/interfaces line %d: netmask %q", n+1, f[1])
				}
				c.bits = maskBits(m)
			}
			out[cur] = c
		default:
			if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
				cur = "" // auto, allow-hotplug, mapping, source...
			}
		}
	}
	for dev, c := range out {
		if c.static && (c.addr == "" || c.bits < 0) {
			return nil, fmt.Errorf("/etc/network/interfaces: iface eth%s inet static has no address or netmask", dev)
		}
	}
	return out, nil
}

// maskBits is the prefix length of a dotted netmask (its leading ones).
func maskBits(m netip.Addr) int {
	b := m.As4()
	n := 0
	for _, x := range b {
		for i := 7; i >= 0 && x&(1<<i) != 0; i-- {
			n++
		}
		if x != 0xff {
			break
		}
	}
	return n
}

// guestNet is what a booting guest's network comes to: the address its
// SSH server listens on and the addresses its guest metrics report.
type guestNet struct {
	listen string            // a loopback address of this machine
	nets   map[string]string // "<device>/ip" -> address
}

// planGuestNet decides a guest's addresses from its interfaces: static
// ones as written, a DHCP interface on the management network a lease
// (lease() gives a free loopback address of the simulator). The SSH
// server listens on the management interface's address when this machine
// can (a loopback address, 127.0.0.0/8); otherwise (a static address of
// a network this machine is not on) on a lease nobody is told of, so the
// guest is unreachable at the address it reports, as a real guest with an
// address of another network would be.
func planGuestNet(confs map[string]ifaceConf, vifs []xapid.GuestVIF, lease func() (string, error), reachable func(netip.Addr) bool) (guestNet, error) {
	g := guestNet{nets: map[string]string{}}
	mgmt := ""
	for _, v := range vifs {
		c, ok := confs[v.Device]
		if !ok {
			continue
		}
		onLAN := v.Bridge == xapid.ManagementBridge
		switch {
		case c.static:
			g.nets[v.Device+"/ip"] = c.addr
		case onLAN:
			ip, err := lease()
			if err != nil {
				return g, err
			}
			g.nets[v.Device+"/ip"] = ip
		}
		if onLAN && mgmt == "" {
			mgmt = g.nets[v.Device+"/ip"]
		}
	}
	if a, err := netip.ParseAddr(mgmt); err == nil && a.Is4() && reachable(a) {
		g.listen = mgmt
		return g, nil
	}
	ip, err := lease()
	g.listen = ip
	return g, err
}
