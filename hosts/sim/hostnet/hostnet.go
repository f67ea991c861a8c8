// Package hostnet gives a simulated XenServer host a network of its own,
// as root: a network namespace for dom0 and one per running guest, joined
// by veth links the way a host's NIC and netback join them.
//
//   - The host's "physical" eth0 is a veth whose other end, the uplink
//     xl<id> in this machine's namespace, is the wire to the host: dom0's
//     eth0 is a port of xenbr0, whose own interface carries the management
//     address (InterfaceReconfigureVswitch.py in xen-api's scripts), so
//     this machine reaches xapi and dom0's SSH as it reaches a real host.
//   - Each plugged VIF is a veth between vif<domid>.<device> in dom0 (on
//     its network's bridge, with netback's fe:ff:ff:ff:ff:ff and no ARP, as
//     xen-api's scripts/vif sets it) and eth<device> in the guest, with the
//     VIF's MAC.
//
// Addresses come from a /24 of 198.18.0.0/15 (RFC 2544's benchmarking
// range, which no network routes) that this machine does not use: the
// uplink is .254, dom0 .1, guests .10 and up. Namespaces are held by open
// files (package netns), never named: when the simulator dies they go,
// with their devices and the uplink. The uplink's name carries the host's
// id (kept in its state directory), so a start removes the one a previous
// run of the same host left, and nothing else.
package hostnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"xenlab/hosts/sim/internal/netns"
)

// Range is where hosts' networks are chosen: RFC 2544's benchmarking
// network, reserved for tests and routed nowhere.
var Range = netip.MustParsePrefix("198.18.0.0/15")

// VIFMAC is the address of a VIF's dom0 end, as netback and xen-api's
// scripts/vif (bridge-MAC) give it.
const VIFMAC = "fe:ff:ff:ff:ff:ff"

// Options describe one host's network.
type Options struct {
	// ID names what the host owns on this machine: its uplink is
	// "xl"+ID. Six lowercase hex digits, kept in the host's state.
	ID string
	// LAN is the host's /24 (a /24 of Range).
	LAN netip.Prefix
	// Logf receives what the network says; nil discards it.
	Logf func(format string, args ...any)
}

// Net is one simulated host's network.
type Net struct {
	opts   Options
	ip     string // this machine's ip(8)
	uplink string
	dom0   *netns.NS

	mu     sync.Mutex
	guests map[string]*netns.NS // by VM uuid
	// parked are the dom0 ends of the links of suspended VMs' guests,
	// kept (ParkVIF) for their resume: by VM uuid, then device.
	parked   map[string]map[string]string
	parkings int // names parked links
	closed   bool
}

var idRE = regexp.MustCompile(`^[0-9a-f]{6}$`)

// Available says why a host cannot have a network of its own here, or nil.
func Available() error {
	if err := netns.Available(); err != nil {
		return err
	}
	if _, err := ipBinary(); err != nil {
		return err
	}
	return nil
}

func ipBinary() (string, error) {
	if p, err := exec.LookPath("ip"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("ip (iproute2) not found")
}

// Uplink is the name of the uplink of the host with this id.
func Uplink(id string) string { return "xl" + id }

// Start makes dom0's namespace and the wire to it: the uplink in this
// machine's namespace with the LAN's .254, dom0's eth0 at its other end.
// A stale uplink of the same id (a run of this host that did not end
// cleanly) is removed first.
func Start(ctx context.Context, opts Options) (_ *Net, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if !idRE.MatchString(opts.ID) {
		return nil, fmt.Errorf("hostnet: id %q is not six hex digits", opts.ID)
	}
	if opts.LAN.Bits() != 24 || !Range.Contains(opts.LAN.Addr()) {
		return nil, fmt.Errorf("hostnet: %s is not a /24 of %s", opts.LAN, Range)
	}
	n := &Net{opts: opts, uplink: Uplink(opts.ID), guests: map[string]*netns.NS{}, parked: map[string]map[string]string{}}
	n.ip, _ = ipBinary()
	if err := n.removeStale(ctx); err != nil {
		return nil, err
	}
	if n.dom0, err = netns.New(); err != nil {
		return nil, fmt.Errorf("hostnet: dom0's namespace: %w", err)
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := n.run(ctx, nil, "link add "+n.uplink+" type veth peer name eth0 netns "+n.dom0.Path(),
		"link set "+n.uplink+" alias "+quote(n.alias()),
		"addr add "+n.Addr(254).String()+"/24 dev "+n.uplink,
		"link set "+n.uplink+" up"); err != nil {
		return nil, err
	}
	if err := n.dom0.Do(func() error {
		if err := setLinkUp("lo", true); err != nil {
			return err
		}
		return setLinkUp("eth0", true)
	}); err != nil {
		return nil, err
	}
	// dom0's ports send nothing of their own: a VIF's netback device and
	// the bridges' interfaces but the management one carry no address, and
	// IPv6 would give each a link-local one and its neighbour discovery.
	if err := sysctl(n.dom0, "net/ipv6/conf/all/disable_ipv6", "1"); err != nil {
		return nil, err
	}
	if err := sysctl(n.dom0, "net/ipv6/conf/default/disable_ipv6", "1"); err != nil {
		return nil, err
	}
	// The userspace datapath reads the frames this machine sends with
	// AF_PACKET, before any checksum was filled in: the kernel must fill
	// them in (what `ethtool -K <dev> tx off` does).
	if err := txChecksumOff(nil, n.uplink); err != nil {
		return nil, err
	}
	return n, nil
}

// alias marks the uplink as this host's, for a person reading ip link.
func (n *Net) alias() string { return "xenlab simulated host " + n.opts.ID }

// removeStale deletes the uplink a previous run of this host left (its
// dom0 namespace outlived it, held by a process that escaped): the same
// name, so the same host.
func (n *Net) removeStale(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", n.uplink)); err != nil {
		return nil
	}
	n.logf("hostnet: removing %s, left by an earlier run of this host", n.uplink)
	err := n.run(ctx, nil, "link del "+n.uplink)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil // the kernel was ending its namespace, and has
	}
	return err
}

// Addr is the LAN's address with the last byte b.
func (n *Net) Addr(b byte) netip.Addr {
	a := n.opts.LAN.Addr().As4()
	a[3] = b
	return netip.AddrFrom4(a)
}

// LAN is the host's network.
func (n *Net) LAN() netip.Prefix { return n.opts.LAN }

// UplinkName is the uplink's name in this machine's namespace.
func (n *Net) UplinkName() string { return n.uplink }

// Dom0 is dom0's namespace.
func (n *Net) Dom0() *netns.NS { return n.dom0 }

// ManagementUp gives the management bridge's interface in dom0 the
// management address (LAN .1) and brings it up, as interface-reconfigure
// does for the management PIF; again after the bridge was made anew.
func (n *Net) ManagementUp(ctx context.Context, bridge string) error {
	return n.run(ctx, n.dom0, "addr replace "+n.Addr(1).String()+"/24 brd + dev "+bridge, "link set "+bridge+" up")
}

// Guest is the namespace of the guest of the VM vm (its uuid), made on
// first use (its first VIF's plug, or its boot when it has none). It is
// the VM's, not the domain's: a guest kept while its VM changes domain
// keeps it.
func (n *Net) Guest(vm string) (*netns.NS, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("hostnet: closed")
	}
	if ns, ok := n.guests[vm]; ok {
		return ns, nil
	}
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("hostnet: the namespace of VM %s's guest: %w", vm, err)
	}
	if err := linkUp(ns, "lo"); err != nil {
		ns.Close()
		return nil, err
	}
	n.guests[vm] = ns
	return ns, nil
}

// ReleaseGuest lets go of the guest's namespace: it ends, with its ends
// of the VIFs' links, when the guest's processes have ended.
func (n *Net) ReleaseGuest(vm string) {
	n.mu.Lock()
	ns := n.guests[vm]
	delete(n.guests, vm)
	delete(n.parked, vm) // they end with the guest's ends
	n.mu.Unlock()
	ns.Close()
}

// ParkVIF keeps the link of a VIF of the VM vm whose domain is suspended:
// its dom0 end, off the bridge already, is renamed out of the way of
// vif<domid>.<device> names and kept, with the guest's eth<device> and its
// addresses, as Xen keeps a suspended domain's devices' state, until the
// VM's resume plugs the VIF again (AddVIF) or its guest ends.
func (n *Net) ParkVIF(ctx context.Context, port, vm string) error {
	_, dev, ok := ParseVIF(port)
	if !ok {
		return fmt.Errorf("hostnet: %q is not a VIF's port", port)
	}
	n.mu.Lock()
	n.parkings++
	name := fmt.Sprintf("xlpark%d", n.parkings)
	n.mu.Unlock()
	if err := parkLink(n.dom0, port, name); err != nil {
		return err
	}
	n.mu.Lock()
	if n.parked[vm] == nil {
		n.parked[vm] = map[string]string{}
	}
	n.parked[vm][dev] = name
	n.mu.Unlock()
	return nil
}

// takeParked takes the parked link of the VM vm's device dev for its
// resume: its name, when its guest's end still has the VIF's MAC; "" when
// there is none to take. A parked link whose MAC differs is stale, for the
// caller to remove.
func (n *Net) takeParked(dev, mac, vm string) (name, stale string) {
	n.mu.Lock()
	name, ok := n.parked[vm][dev]
	delete(n.parked[vm], dev)
	g := n.guests[vm]
	n.mu.Unlock()
	if !ok || g == nil {
		return "", ""
	}
	if mac != "" && !strings.EqualFold(linkMAC(g, "eth"+dev), mac) {
		return "", name
	}
	return name, ""
}

// Reuse readies the guest namespace of the VM vm for another guest of
// the same VM, which a resume of another suspend image starts in place of
// a kept one: the links the resume plugged stay, links still parked go,
// and the devices' addresses are flushed for the new guest to set.
func (n *Net) Reuse(ctx context.Context, vm string, devices []string) error {
	n.mu.Lock()
	parked := n.parked[vm]
	delete(n.parked, vm)
	g := n.guests[vm]
	n.mu.Unlock()
	var cmds []string
	for _, name := range parked {
		cmds = append(cmds, "link del "+name)
	}
	if len(cmds) > 0 {
		if err := n.run(ctx, n.dom0, cmds...); err != nil {
			return err
		}
	}
	if g == nil || len(devices) == 0 {
		return nil
	}
	cmds = cmds[:0]
	for _, d := range devices {
		cmds = append(cmds, "addr flush dev "+d)
	}
	return n.run(ctx, g, cmds...)
}

// linkMAC is the MAC address of a device in ns, or "".
func linkMAC(ns *netns.NS, dev string) string {
	var mac string
	_ = ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err == nil {
			mac = ifi.HardwareAddr.String()
		}
		return err
	})
	return mac
}

var vifRE = regexp.MustCompile(`^vif([0-9]+)\.([0-9]+)$`)

// ParseVIF reads a VIF port's name, vif<domid>.<device>.
func ParseVIF(port string) (domid int64, device string, ok bool) {
	m := vifRE.FindStringSubmatch(port)
	if m == nil {
		return 0, "", false
	}
	d, err := strconv.ParseInt(m[1], 10, 64)
	return d, m[2], err == nil
}

// AddVIF links a VIF of the VM vm: vif<domid>.<device> in dom0 and
// eth<device>, with the VIF's MAC, in the VM's guest, both up (a guest
// brings up the interfaces its network configuration names; a port's
// device is up on a host). A new link is made by one ip(8) run in dom0,
// its guest end moved to the guest at once; a parked link is taken back
// by ioctls, without a process.
func (n *Net) AddVIF(ctx context.Context, port, mac, vm string) error {
	_, dev, ok := ParseVIF(port)
	if !ok {
		return fmt.Errorf("hostnet: %q is not a VIF's port", port)
	}
	g, err := n.Guest(vm)
	if err != nil {
		return err
	}
	eth := "eth" + dev
	var cmds []string
	// A replug: netback removed the old device; a leftover would clash.
	if linkExists(n.dom0, port) {
		cmds = append(cmds, "link del "+port)
	}
	parked, stale := n.takeParked(dev, mac, vm) // a resume of a kept guest
	if stale != "" {
		// Its guest's end, eth<device>, goes with it, before the new one
		// is made below.
		cmds = append(cmds, "link del "+stale)
	}
	if parked == "" {
		addr := ""
		if mac != "" {
			addr = " address " + strings.ToLower(mac)
		}
		// netback's end: its MAC, no ARP, no multicast (xen-api's
		// scripts/vif). The guest's end cannot be brought up as it is
		// made (the kernel answers ENOTCONN): linkUp does it below.
		cmds = append(cmds, "link add "+port+" address "+VIFMAC+" arp off multicast off up type veth peer name "+eth+addr+" netns "+g.Path())
	}
	if len(cmds) > 0 {
		if err := n.run(ctx, n.dom0, cmds...); err != nil {
			return err
		}
	}
	if parked != "" {
		// The guest's end is the one AddVIF made, as it was.
		return unparkLink(n.dom0, parked, port)
	}
	if err := linkUp(g, eth); err != nil {
		return err
	}
	return txChecksumOff(g, eth)
}

// linkExists says whether ns has a network device of this name.
func linkExists(ns *netns.NS, name string) bool {
	found := false
	_ = ns.Do(func() error {
		_, err := net.InterfaceByName(name)
		found = err == nil
		return nil
	})
	return found
}

// RemoveVIF removes a VIF's link (unplug, or its domain's end); one that
// is gone already is not an error.
func (n *Net) RemoveVIF(ctx context.Context, port string) error {
	if _, _, ok := ParseVIF(port); !ok {
		return fmt.Errorf("hostnet: %q is not a VIF's port", port)
	}
	err := n.run(ctx, n.dom0, "link del "+port)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil
	}
	return err
}

// GuestAddress gives the eth<device> of VM vm's guest an address (prefix
// form) and announces it (announce).
func (n *Net) GuestAddress(ctx context.Context, vm, device string, addr netip.Prefix) error {
	g, err := n.Guest(vm)
	if err != nil {
		return err
	}
	if err := n.run(ctx, g, "addr replace "+addr.String()+" dev eth"+device); err != nil {
		return err
	}
	if !addr.Addr().Is4() {
		return nil
	}
	return g.Do(func() error { return announce("eth"+device, addr.Addr()) })
}

// announce sends, from dev of the current namespace, a gratuitous ARP for
// addr (an ARP request whose sender and target address are both addr,
// RFC 5227's announcement), so that a neighbour that holds another MAC
// for addr (a guest that had it before, on a VIF that is gone) takes
// dev's at once instead of sending to the old one until its entry expires
// (Linux's arp_process updates an entry from any ARP that names its
// address). A real guest's first frames do that: netfront calls
// netdev_notify_peers when its backend connects (drivers/net/xen-netfront.c
// netback_changed), which sends such an ARP for each address (devinet.c,
// NETDEV_NOTIFY_PEERS), and a booted guest's own ARP for its gateway
// names its MAC too; the simulated guest sends nothing of its own.
func announce(dev string, addr netip.Addr) error {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return fmt.Errorf("hostnet: announce %s: %w", addr, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("hostnet: announce %s: %s has no Ethernet address", addr, dev)
	}
	const ethPARP = 0x0806
	proto := int(ethPARP>>8 | ethPARP&0xff<<8) // network byte order
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, proto)
	if err != nil {
		return fmt.Errorf("hostnet: announce %s: %w", addr, err)
	}
	defer syscall.Close(fd)
	ip := addr.As4()
	frame := make([]byte, 0, 42)
	frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // to all
	frame = append(frame, ifi.HardwareAddr...)
	frame = append(frame, ethPARP>>8, ethPARP&0xff)
	frame = append(frame, 0, 1, 0x08, 0x00, 6, 4, 0, 1) // Ethernet, IPv4, request
	frame = append(frame, ifi.HardwareAddr...)
	frame = append(frame, ip[:]...)
	frame = append(frame, 0, 0, 0, 0, 0, 0)
	frame = append(frame, ip[:]...)
	to := &syscall.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index, Halen: 6}
	copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := syscall.Sendto(fd, frame, 0, to); err != nil {
		return fmt.Errorf("hostnet: announce %s on %s: %w", addr, dev, err)
	}
	return nil
}

// Close ends dom0's and the guests' namespaces (with the processes in
// them, which their owners stop) and removes the uplink at once.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	guests := n.guests
	n.guests = map[string]*netns.NS{}
	n.mu.Unlock()
	for _, g := range guests {
		g.Close()
	}
	var err error
	if n.dom0 != nil {
		n.dom0.Close()
		// The uplink would go with dom0's namespace once its last process
		// ended; removed now so that a new start finds nothing.
		if e := n.run(context.Background(), nil, "link del "+n.uplink); e != nil && !strings.Contains(e.Error(), "Cannot find device") {
			err = e
		}
	}
	return err
}

func (n *Net) logf(format string, args ...any) {
	if n.opts.Logf != nil {
		n.opts.Logf(format, args...)
	}
}

// run runs ip's commands (one batch, one process) in ns (nil: this
// machine's namespace).
func (n *Net) run(ctx context.Context, ns *netns.NS, cmds ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.ip, "-batch", "-")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := ns.Do(cmd.Start); err != nil {
		return fmt.Errorf("hostnet: ip: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("hostnet: ip %s: %w: %s", strings.Join(cmds, "; "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// ifreq is the kernel's struct ifreq: a device name, then a union (the
// flags, or a new name).
type ifreq struct {
	name [16]byte
	data [24]byte
}

// ifIoctl runs one device ioctl on arg (a struct ifreq, or a struct laid
// out as one) from a socket of the current network namespace.
func ifIoctl(req uintptr, arg unsafe.Pointer) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// setLinkUp brings a device of the current namespace up or down
// (SIOCSIFFLAGS, as `ip link set dev DEV up|down`).
func setLinkUp(dev string, up bool) error {
	var ifr ifreq
	copy(ifr.name[:], dev)
	if err := ifIoctl(syscall.SIOCGIFFLAGS, unsafe.Pointer(&ifr)); err != nil {
		return fmt.Errorf("hostnet: %s: read its flags: %w", dev, err)
	}
	flags := (*uint16)(unsafe.Pointer(&ifr.data[0]))
	if up {
		*flags |= syscall.IFF_UP
	} else {
		*flags &^= syscall.IFF_UP
	}
	if err := ifIoctl(syscall.SIOCSIFFLAGS, unsafe.Pointer(&ifr)); err != nil {
		return fmt.Errorf("hostnet: %s: set it up or down: %w", dev, err)
	}
	return nil
}

// linkUp brings a device of ns up, without a process of ip(8) for it.
func linkUp(ns *netns.NS, dev string) error {
	return ns.Do(func() error { return setLinkUp(dev, true) })
}

// unparkLink gives the parked device name of ns back as port, up
// (SIOCSIFNAME, SIOCSIFFLAGS; as `ip link set NAME name PORT up` would,
// without a process of ip(8)). It is still netback's device as AddVIF
// made it, fe:ff:ff:ff:ff:ff, no ARP, no multicast: parkLink only took it
// down and renamed it.
func unparkLink(ns *netns.NS, name, port string) error {
	return ns.Do(func() error {
		if err := renameLink(name, port); err != nil {
			return err
		}
		return setLinkUp(port, true)
	})
}

// parkLink takes the device dev of ns down and renames it to name
// (SIOCSIFNAME, as `ip link set dev DEV name NAME`; a device is renamed
// down), without a process of ip(8).
func parkLink(ns *netns.NS, dev, name string) error {
	return ns.Do(func() error {
		if err := setLinkUp(dev, false); err != nil {
			return err
		}
		return renameLink(dev, name)
	})
}

// renameLink renames the device dev of the current namespace, which is
// down (SIOCSIFNAME, as `ip link set dev DEV name NAME`).
func renameLink(dev, name string) error {
	var ifr ifreq
	copy(ifr.name[:], dev)
	copy(ifr.data[:16], name)
	if err := ifIoctl(syscall.SIOCSIFNAME, unsafe.Pointer(&ifr)); err != nil {
		return fmt.Errorf("hostnet: rename %s to %s: %w", dev, name, err)
	}
	return nil
}

// txChecksumOff turns off transmit checksum offload of a device in ns
// (ETHTOOL_STXCSUM through SIOCETHTOOL, as `ethtool -K dev tx off`).
func txChecksumOff(ns *netns.NS, dev string) error {
	return ns.Do(func() error {
		const siocEthtool, ethtoolSTXCSUM = 0x8946, 0x17
		val := [2]uint32{ethtoolSTXCSUM, 0}
		var ifr struct {
			name [16]byte
			data unsafe.Pointer
			_    [16]byte
		}
		copy(ifr.name[:], dev)
		ifr.data = unsafe.Pointer(&val)
		if err := ifIoctl(siocEthtool, unsafe.Pointer(&ifr)); err != nil {
			return fmt.Errorf("hostnet: %s: transmit checksum offload off: %w", dev, err)
		}
		return nil
	})
}

// ChooseLAN picks a /24 of Range that no route or address of this
// machine covers, preferring want (the host's former one) when it is
// free or is the host's own (its uplink's, being replaced). pick gives a
// random index below 512 for a fresh choice.
func ChooseLAN(want netip.Prefix, id string, pick func(n int) int) (netip.Prefix, error) {
	used, err := usedPrefixes(Uplink(id))
	if err != nil {
		return netip.Prefix{}, err
	}
	free := func(p netip.Prefix) bool {
		for _, u := range used {
			if u.Overlaps(p) {
				return false
			}
		}
		return true
	}
	if want.IsValid() && want.Bits() == 24 && Range.Contains(want.Addr()) && free(want) {
		return want, nil
	}
	base := Range.Addr().As4()
	start := pick(512)
	for i := 0; i < 512; i++ {
		k := (start + i) % 512
		a := base
		a[1] += byte(k / 256)
		a[2] = byte(k % 256)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if free(p) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("hostnet: every /24 of %s is in use on this machine", Range)
}

// usedPrefixes are the IPv4 routes of this machine's main table (from
// /proc/net/route), but the default route and those of the device skip.
func usedPrefixes(skip string) ([]netip.Prefix, error) {
	data, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] == skip {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		// /proc/net/route is in host byte order (little-endian here).
		d := [4]byte{byte(dst), byte(dst >> 8), byte(dst >> 16), byte(dst >> 24)}
		m := [4]byte{byte(mask), byte(mask >> 8), byte(mask >> 16), byte(mask >> 24)}
		bits := 0
		for _, x := range m {
			for i := 7; i >= 0 && x&(1<<i) != 0; i-- {
				bits++
			}
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(d), bits).Masked())
	}
	return out, nil
}

// sysctl sets a network setting of the namespace ns (/proc/sys/net is
// per namespace, resolved when the file is opened).
func sysctl(ns *netns.NS, key, value string) error {
	return ns.Do(func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0o644); err != nil {
			return fmt.Errorf("hostnet: sysctl %s: %w", strings.ReplaceAll(key, "/", "."), err)
		}
		return nil
	})
}
