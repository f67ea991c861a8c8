package sim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	"xenlab/hosts/sim/hostnet"
	"xenlab/hosts/sim/internal/netns"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	"xenlab/hosts/sim/xapid"
)

// A network of the host's own (package hostnet), where this machine
// allows one: as root, with real Open vSwitch (the model forwards no
// frames) and commands in a root of their host's own (their PID
// namespace's pid 1 carries them into the namespace). Otherwise every
// host lives on this machine's loopback as before (state.go), and says
// why at start.

// netUnavailable says why the host gets no network of its own, or nil.
func (h *Host) netUnavailable() error {
	if err := hostnet.Available(); err != nil {
		return err
	}
	switch h.opts.OVS {
	case ovs.ModeModel:
		return fmt.Errorf("the model switch forwards no frames")
	case ovs.ModeAuto, "":
		if err := ovs.RealAvailable(); err != nil {
			return err
		}
	}
	if h.opts.Isolation == sshd.IsolationPaths {
		return fmt.Errorf("commands share this machine's processes (isolation paths)")
	}
	return nil
}

// startNet makes the host's network when this machine allows it, choosing
// its /24 (kept in sim.json) and id on first use.
func (h *Host) startNet(ctx context.Context) error {
	if err := h.netUnavailable(); err != nil {
		h.logf("sim: no network of the host's own (%v): dom0 and the guests use this machine's loopback "+
			"(docs/simulator.md, \"The host's network\")", err)
		return nil
	}
	changed := false
	if h.state.NetID == "" {
		h.state.NetID = randomHex(3)
		changed = true
	}
	want, _ := netip.ParsePrefix(h.state.LAN)
	lan, err := hostnet.ChooseLAN(want, h.state.NetID, func(n int) int {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(i.Int64())
	})
	if err != nil {
		return err
	}
	if lan.String() != h.state.LAN {
		h.state.LAN = lan.String()
		changed = true
	}
	if changed {
		if err := saveState(h.dir, h.state); err != nil {
			return err
		}
	}
	n, err := hostnet.Start(ctx, hostnet.Options{ID: h.state.NetID, LAN: lan, Logf: h.logf})
	if err != nil {
		return fmt.Errorf("the host's network: %w", err)
	}
	h.hnet = n
	h.state.own = true
	h.logf("sim: the host's network %s: this machine is %s on %s, dom0 %s on %s's eth0", lan, n.Addr(254),
		n.UplinkName(), n.Addr(1), xapid.ManagementBridge)
	return nil
}

// dom0NS is dom0's network namespace; nil without a network of its own.
func (h *Host) dom0NS() *netns.NS {
	if h.hnet == nil {
		return nil
	}
	return h.hnet.Dom0()
}

// managementUp makes xenbr0 as a host's network start-up does: eth0 a port
// of it, the management address on its interface.
func (h *Host) managementUp(ctx context.Context, bridge string) error {
	if h.hnet == nil || bridge != xapid.ManagementBridge {
		return nil
	}
	if err := vsctl(ctx, h.dom0SW, "dom0", "--may-exist", "add-port", bridge, "eth0"); err != nil {
		return err
	}
	return h.hnet.ManagementUp(ctx, bridge)
}

// addDom0Link makes the device a port of dom0's switch needs: with a
// network of the host's own, a VIF's link to its guest (and nothing for
// eth0, which is there); else what the switch makes (addLink).
func (h *Host) addDom0Link(ctx context.Context, port string, externalIDs map[string]string) error {
	if h.hnet == nil {
		return addLink(ctx, h.dom0SW, port)
	}
	if _, _, ok := hostnet.ParseVIF(port); ok {
		vm := externalIDs["xs-vm-uuid"] // xapi's scripts/vif always sets it
		if vm == "" {
			return fmt.Errorf("dom0: VIF port %s has no xs-vm-uuid: no guest to link it to", port)
		}
		return h.hnet.AddVIF(ctx, port, externalIDs["attached-mac"], vm)
	}
	if port == "eth0" {
		return nil
	}
	return addLink(ctx, h.dom0SW, port)
}

// delDom0Link removes what addDom0Link made.
func (h *Host) delDom0Link(ctx context.Context, port string) error {
	if h.hnet != nil {
		if _, _, ok := hostnet.ParseVIF(port); ok {
			return h.hnet.RemoveVIF(ctx, port)
		}
		if port == "eth0" {
			return nil
		}
	}
	if l, ok := h.dom0SW.(ovs.Linker); ok {
		return l.DelLink(ctx, port)
	}
	return nil
}

// guestNS is the namespace of a booting guest (its VM's), nil without a
// network of the host's own; its switch is then real (openSwitch), since
// the model forwards no frames between the guest's devices.
func (h *Host) guestNS(vm string) (*netns.NS, error) {
	if h.hnet == nil {
		return nil, nil
	}
	return h.hnet.Guest(vm)
}

// reachable says whether this machine reaches a guest at its management
// address: one of the host's LAN where it has a network of its own, else a
// loopback address.
func (h *Host) reachable(a netip.Addr) bool {
	if h.hnet != nil {
		return h.hnet.LAN().Contains(a)
	}
	return a.Is4() && a.As4()[0] == 127
}

// guestAddresses gives a booted guest's eth<device> the addresses its
// guest metrics report (nets, "<device>/ip"), in its namespace: a static
// one with the prefix of its interfaces file, a lease with the LAN's.
func (h *Host) guestAddresses(ctx context.Context, vm string, nets map[string]string, confs map[string]ifaceConf) error {
	if h.hnet == nil {
		return nil
	}
	for key, ip := range nets {
		dev := strings.TrimSuffix(key, "/ip")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("eth%s's address %q: %w", dev, ip, err)
		}
		bits := 32
		if c, ok := confs[dev]; ok && c.static {
			bits = c.bits
		} else if h.hnet.LAN().Contains(a) {
			bits = h.hnet.LAN().Bits()
		}
		if err := h.hnet.GuestAddress(ctx, vm, dev, netip.PrefixFrom(a, bits)); err != nil {
			return fmt.Errorf("eth%s's address: %w", dev, err)
		}
	}
	return nil
}

// listenXAPIOn serves xapi on addr: in dom0's namespace when the host has
// one, where xapi listens on a host.
func (h *Host) listenXAPIOn(ctx context.Context, addr string, tlsConfig *tls.Config) (string, error) {
	if h.hnet == nil {
		return h.xapi.Listen(ctx, addr, tlsConfig)
	}
	ln, err := h.dom0NS().Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("xapi simulator: listening on %s in dom0: %w", addr, err)
	}
	return h.xapi.Serve(ctx, ln, tlsConfig)
}

// networkNote says in the lab file where the host lives.
func (h *Host) networkNote() string {
	if h.hnet == nil {
		return "The host lives on this machine's loopback (no network of its own: docs/simulator.md)."
	}
	return fmt.Sprintf("The host has a network of its own, %s, reached through this machine's %s (%s): dom0 %s, guests from %s.",
		h.hnet.LAN(), h.hnet.UplinkName(), h.hnet.Addr(254), h.hnet.Addr(1), h.hnet.Addr(10))
}
