package steps

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

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
	boot, ok := viewOf(inv, b.lab).domUBoot()
	if !ok {
		return false, nil // no domU (step domU), halted, or no address yet
	}
	return knownHost(b.host.Config.KnownHosts, boot.Addr)
}

func (b *boot) Apply(ctx context.Context, out provision.Output) error {
	inv, err := b.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vm := viewOf(inv, b.lab).domU()
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
		if err := c.VMStart(ctx, vm, false, false); startedMeanwhile(ctx, c, vm, err) {
			// An earlier run's VM.start that xapi finished after its
			// client went away (xapi runs a call to its end), or a
			// person's: domU runs, which is what this step wants.
			out.Line("%q is running already (started while this run read the host)", inv.VMs[vm].NameLabel)
		} else if err != nil {
			return err
		} else {
			out.Line("started %q", inv.VMs[vm].NameLabel)
		}
	case xapi.PowerSuspended:
		// A run killed between reset's revert to a checkpoint and its
		// resume, or a person's VM.suspend: domU resumes where its memory
		// image left it (xapi_vm_lifecycle.ml allows resume only from
		// Suspended), and the agents step finds its services as they were.
		if err := c.VMResume(ctx, vm, false, false); err != nil {
			return err
		}
		out.Line("resumed %q (it was Suspended)", inv.VMs[vm].NameLabel)
	case xapi.PowerRunning:
	default:
		return fmt.Errorf("domU %q is %s; xenlab starts it only from Halted or Suspended", inv.VMs[vm].NameLabel, st)
	}
	// timeouts.boot bounds the start until SSH answers (devstack waited
	// 10 tries 10 s apart for the address).
	ctx, cancel := bootBound(ctx, b.lab)
	defer cancel()
	dev := strconv.Itoa(b.lab.DomU.Devices.Management)
	ip, err := c.WaitGuestIP(ctx, vm, dev)
	if err != nil {
		return bootTimedOut(ctx, b.lab, fmt.Sprintf("domU reported no address on eth%s", dev), err)
	}
	out.Line("guest reports %s on eth%s", ip, dev)
	addr := net.JoinHostPort(ip, strconv.Itoa(b.lab.DomU.SSHPort))
	if err := recordHostKeyAt(b.host, b.lab, inv.VMs[vm], addr, out); err != nil { // hostkey.go
		return err
	}
	g, err := b.host.DialGuest(ctx, "domU", addr, "root", b.lab.DomU.Password)
	if err != nil {
		return bootTimedOut(ctx, b.lab, "domU's SSH server at "+addr+" did not answer", err)
	}
	defer g.Close()
	out.Line("domU ssh %s: host key known", addr)
	return nil
}

// errBootTimeout is the cause of a boot that ran out of timeouts.boot.
var errBootTimeout = errors.New("timeouts.boot")

// bootBound bounds ctx by timeouts.boot, when the lab sets one; an
// error of the bounded wait goes through bootTimedOut.
func bootBound(ctx context.Context, lab *localrc.Config) (context.Context, context.CancelFunc) {
	if to := lab.Timeouts.Boot; to > 0 {
		return context.WithTimeoutCause(ctx, to, errBootTimeout)
	}
	return ctx, func() {}
}

// bootTimedOut names timeouts.boot in err when that is what ended the
// wait (the step's own limit or Ctrl-C are left as they are).
func bootTimedOut(ctx context.Context, lab *localrc.Config, what string, err error) error {
	if errors.Is(context.Cause(ctx), errBootTimeout) {
		return fmt.Errorf("%s within timeouts.boot (%s): %w", what, lab.Timeouts.Boot, err)
	}
	return err
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

// startedMeanwhile reports whether err is xapi's refusal to start a VM
// that runs: VM_BAD_POWER_STATE [vm, expected, actual] with actual running
// (xen-api ocaml/xapi/xapi_vm_lifecycle.ml, check_operation_error, reports
// the power state in lower case), no transition under way (the client's
// read after the error, xapi.Error.Transition), and the VM read running
// now.
func startedMeanwhile(ctx context.Context, c *xapi.Client, vm xapi.Ref, err error) bool {
	var xe *xapi.Error
	if !errors.As(err, &xe) || xe.Code != xapi.CodeVMBadPowerState || xe.Transition != "" ||
		len(xe.Params) < 3 || !strings.EqualFold(xe.Params[2], "running") {
		return false
	}
	rec, rerr := c.VMGetRecord(ctx, vm)
	return rerr == nil && rec.PowerState == xapi.PowerRunning
}
