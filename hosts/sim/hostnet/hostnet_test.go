package hostnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"xenlab/hosts/sim/internal/netns"
)

// TestParkedLinks: a parked VIF link is taken back by the resume's plug
// when its guest's end still has the VIF's MAC (the same device, as
// netback's device again), and replaced when the MAC differs (the stale
// link goes, the new one has the new MAC).
func TestParkedLinks(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	lan, err := ChooseLAN(netip.Prefix{}, id, func(n int) int {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(k.Int64())
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := Start(ctx, Options{ID: id, LAN: lan, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	const vm, mac1, mac2 = "vm", "02:00:00:00:00:01", "02:00:00:00:00:02"
	if err := n.AddVIF(ctx, "vif1.0", mac1, vm); err != nil {
		t.Fatal(err)
	}
	g, err := n.Guest(vm)
	if err != nil {
		t.Fatal(err)
	}
	index := func(ns *netns.NS, dev string) int {
		t.Helper()
		var i int
		_ = ns.Do(func() error {
			ifi, err := net.InterfaceByName(dev)
			if err == nil {
				i = ifi.Index
			}
			return nil
		})
		return i
	}
	netback := func(port string) {
		t.Helper()
		var ifi *net.Interface
		if err := n.dom0.Do(func() (err error) { ifi, err = net.InterfaceByName(port); return err }); err != nil {
			t.Fatalf("dom0's %s: %v", port, err)
		}
		if ifi.HardwareAddr.String() != VIFMAC || ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast != 0 {
			t.Errorf("dom0's %s is not netback's device: %s %v", port, ifi.HardwareAddr, ifi.Flags)
		}
	}
	netback("vif1.0")
	first := index(g, "eth0")

	// The same MAC: the same device back.
	if err := n.ParkVIF(ctx, "vif1.0", vm); err != nil {
		t.Fatal(err)
	}
	if index(n.dom0, "vif1.0") != 0 {
		t.Fatal("vif1.0 is still there after its park")
	}
	if err := n.AddVIF(ctx, "vif2.0", mac1, vm); err != nil {
		t.Fatal(err)
	}
	netback("vif2.0")
	if got := index(g, "eth0"); got != first {
		t.Errorf("the resume made eth0 anew (index %d, was %d)", got, first)
	}
	if txChecksum(t, g, "eth0") {
		t.Error("eth0's transmit checksum offload is on after the resume")
	}

	// Another MAC: the parked link goes, a new one is made.
	if err := n.ParkVIF(ctx, "vif2.0", vm); err != nil {
		t.Fatal(err)
	}
	if err := n.AddVIF(ctx, "vif3.0", mac2, vm); err != nil {
		t.Fatal(err)
	}
	netback("vif3.0")
	if txChecksum(t, g, "eth0") {
		t.Error("the new eth0's transmit checksum offload is on")
	}
	if got := linkMAC(g, "eth0"); !strings.EqualFold(got, mac2) {
		t.Errorf("eth0 has %s, want %s", got, mac2)
	}
	var names []string
	_ = n.dom0.Do(func() error {
		ifs, _ := net.Interfaces()
		for _, ifi := range ifs {
			names = append(names, ifi.Name)
		}
		return nil
	})
	for _, name := range names {
		if strings.HasPrefix(name, "xlpark") {
			t.Errorf("dom0 still has the stale parked link %s (%v)", name, names)
		}
	}
}

// txChecksum says whether transmit checksum offload is on for dev in ns
// (ETHTOOL_GTXCSUM, as `ethtool -k dev`).
func txChecksum(t *testing.T, ns *netns.NS, dev string) bool {
	t.Helper()
	const siocEthtool, ethtoolGTXCSUM = 0x8946, 0x16
	val := [2]uint32{ethtoolGTXCSUM, 0}
	var ifr struct {
		name [16]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(ifr.name[:], dev)
	ifr.data = unsafe.Pointer(&val)
	if err := ns.Do(func() error { return ifIoctl(siocEthtool, unsafe.Pointer(&ifr)) }); err != nil {
		t.Fatalf("%s: ETHTOOL_GTXCSUM: %v", dev, err)
	}
	return val[1] != 0
}
