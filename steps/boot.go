package steps

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// boot starts domU, waits for the IP its guest reports (through
// event.from, no polling), then for its SSH server, whose host key is
// checked and recorded as dom0's is: in the lab's known_hosts, trusted on
// first use only with --accept-new-host-keys.
type boot struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (b *boot) Name() string   { return "boot" }
func (b *boot) Deps() []string { return []string{"domU"} }

// guestIP returns the management IP domU's guest reports, or "".
func guestIP(inv *hosts.Snapshot, vm xapi.Ref, device int) string {
	rec := inv.VMs[vm]
	if rec.PowerState != xapi.PowerRunning {
		return ""
	}
	return inv.GuestMetrics[rec.GuestMetrics].Networks[strconv.Itoa(device)+"/ip"]
}

func (b *boot) Check(ctx context.Context) (bool, error) {
	inv, err := b.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	vm := findDomU(inv, b.lab.Lab)
	if vm == "" {
		return false, nil
	}
	ip := guestIP(inv, vm, b.lab.DomU.Devices.Management)
	if ip == "" {
		return false, nil
	}
	return knownHost(b.host.Config.KnownHosts, net.JoinHostPort(ip, strconv.Itoa(b.lab.DomU.SSHPort)))
}

func (b *boot) Apply(ctx context.Context, out provision.Output) error {
	inv, err := b.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vm := findDomU(inv, b.lab.Lab)
	if vm == "" {
		return errors.New("domU does not exist (step domU)")
	}
	c, err := b.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer b.host.Changed()
	switch st := inv.VMs[vm].PowerState; st {
	case xapi.PowerHalted:
		if err := c.VMStart(ctx, vm, false, false); err != nil {
			return err
		}
		out.Line("started %q", inv.VMs[vm].NameLabel)
	case xapi.PowerRunning:
	default:
		return fmt.Errorf("domU %q is %s; xenlab starts it only from Halted", inv.VMs[vm].NameLabel, st)
	}
	dev := strconv.Itoa(b.lab.DomU.Devices.Management)
	ip, err := c.WaitGuestIP(ctx, vm, dev)
	if err != nil {
		return err
	}
	out.Line("guest reports %s on eth%s", ip, dev)
	addr := net.JoinHostPort(ip, strconv.Itoa(b.lab.DomU.SSHPort))
	if _, err := recordHostKeyAt(b.host, b.lab, inv.VMs[vm], addr, out); err != nil { // hostkey.go
		return err
	}
	g, err := b.host.DialGuest(ctx, "domU", addr, "root", b.lab.DomU.Password)
	if err != nil {
		return err
	}
	defer g.Close()
	out.Line("domU ssh %s: host key known", addr)
	return nil
}

// Destroy has nothing of its own to undo: domU's Destroy stops it.
func (b *boot) Destroy(context.Context, provision.Output) error { return nil }

// knownHost reports whether file records a host key for addr.
func knownHost(file, addr string) (bool, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return false, err
	}
	// Ask about a key no file can hold: a known host answers with the keys
	// it wants, an unknown one with none.
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return false, err
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		return false, err
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return false, err
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, tcp, key); errors.As(err, &ke) {
		return len(ke.Want) > 0, nil
	}
	return false, nil
}
