package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/templates"
)

// InterfacesPath is domU's ifupdown configuration.
const InterfacesPath = "/etc/network/interfaces"

// guestNetwork gives domU the addresses the lab file says
// (domu.management_ip, vm_ip and public_ip: DHCP or static), as devstack's
// build_xva.sh did by writing domU's /etc/network/interfaces
// (print_interfaces_config: public, VM network, management, each
// "inet dhcp" or "inet static" with its address and netmask). devstack
// wrote the file into the disk before the first boot; so does xenlab,
// through xenstore, when domU's template has the first-boot job that
// installs it (netjob.go): the domU step gives it while domU is Halted,
// domU's first boot comes up with the addresses, and this step finds its
// work done. Otherwise (a template without the job, or an address edited
// on a running lab) this step writes the file over SSH once domU is up
// (the template's own network, DHCP or the installer's address, gets it
// there), first updating xenstore when domU has the job (which would put
// the old file back at boot), and reboots domU, which comes up with them:
// guest metrics then report each static address at its device.
// Done = the file in domU is the one xenlab renders, the guest reports
// every static address, and, with the job, xenstore holds that file.
type guestNetwork struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (g *guestNetwork) Name() string   { return "guest-network" }
func (g *guestNetwork) Deps() []string { return []string{"boot"} }

// guestIface is one of domU's interfaces and the field that sets it.
type guestIface struct {
	field  string
	device int
	ip     localrc.IPConfig
}

// ifaces are domU's interfaces in devstack's order.
func (g *guestNetwork) ifaces() []guestIface {
	d := g.lab.DomU
	return []guestIface{
		{"domu.public_ip", d.Devices.Public, d.PublicIP},
		{"domu.vm_ip", d.Devices.VM, d.VMIP},
		{"domu.management_ip", d.Devices.Management, d.ManagementIP},
	}
}

// render is domU's /etc/network/interfaces as the lab file says.
func (g *guestNetwork) render() ([]byte, error) {
	var ifs []templates.Interface
	for _, i := range g.ifaces() {
		t := templates.Interface{Device: i.device}
		if !i.ip.DHCP {
			t.Static, t.Address, t.Netmask = true, i.ip.Prefix.Addr().String(), i.ip.Netmask()
		}
		ifs = append(ifs, t)
	}
	return templates.RenderInterfaces(ifs)
}

// costReboot is what a change of domU's addresses costs on a running
// domU (one that has not booted yet gets them through xenstore, in the
// domU step, at no cost).
const costReboot = "domU's " + InterfacesPath + " is rewritten and domU rebooted (VM.clean_reboot); its services restart"

// reported compares the addresses domU's guest reports with the static
// ones the lab file asks for.
func (g *guestNetwork) reported(nets map[string]string) []provision.Change {
	var out []provision.Change
	for _, i := range g.ifaces() {
		if i.ip.DHCP {
			continue
		}
		if got, want := nets[strconv.Itoa(i.device)+"/ip"], i.ip.Prefix.Addr().String(); got != want {
			out = append(out, provision.Change{Field: i.field, From: got, To: i.ip.String(), How: provision.DomUStopped, Cost: costReboot})
		}
	}
	return out
}

// domU returns domU, its guest's networks and its SSH address (the
// lab's view of its boot), or "" when it is not running with a management
// address.
func (g *guestNetwork) domU(inv *hosts.Snapshot) (xapi.Ref, map[string]string, string) {
	v := viewOf(inv, g.lab)
	vm := v.domU()
	b, ok := v.domUBoot()
	if !ok {
		return vm, nil, ""
	}
	return vm, inv.GuestMetrics[inv.VMs[vm].GuestMetrics].Networks, b.Addr
}

func (g *guestNetwork) Check(ctx context.Context) (bool, error) {
	inv, err := g.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	vm, nets, addr := g.domU(inv)
	if addr == "" {
		return false, nil // step boot starts it
	}
	if cs := g.reported(nets); len(cs) > 0 {
		provision.ReportChanges(ctx, cs...)
		return false, nil
	}
	want, err := g.render()
	if err != nil {
		return false, err
	}
	// The addresses are right; the file says the rest (netmasks, DHCP),
	// which xapi does not show.
	c, err := g.host.DialGuest(ctx, "domU", addr, "root", g.lab.DomU.Password)
	if err != nil {
		return false, err
	}
	defer c.Close()
	have, err := c.Download(ctx, InterfacesPath)
	if err != nil && !isNotExist(err) {
		return false, fmt.Errorf("domU: reading %s: %w", InterfacesPath, err)
	}
	if !bytes.Equal(have, want) {
		provision.ReportChanges(ctx, provision.Change{Field: "domu.management_ip / vm_ip / public_ip (netmask or DHCP)",
			From: "another " + InterfacesPath, To: "as the lab file says", How: provision.DomUStopped, Cost: costReboot})
		return false, nil
	}
	// domU runs as the lab says, but its first-boot job would put back
	// another file at its next boot (netjob.go).
	if rec := inv.VMs[vm]; interfacesBehind(rec, xenstoreValue(want)) {
		from := ""
		if rec.XenstoreInterfaces != "" {
			from = "another file"
		}
		provision.ReportChanges(ctx, provision.Change{Field: "domU's " + InterfacesPath + " in xenstore " + XenstoreInterfaces,
			From: from, To: "as the lab file says", How: provision.InPlace})
		return false, nil
	}
	return true, nil
}

func (g *guestNetwork) Apply(ctx context.Context, out provision.Output) error {
	inv, err := g.host.Inventory(ctx)
	if err != nil {
		return err
	}
	vm, nets, addr := g.domU(inv)
	if addr == "" {
		return errDomUDown
	}
	want, err := g.render()
	if err != nil {
		return err
	}
	x, err := g.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer g.host.Changed()
	// First xenstore, where domU's first-boot job finds the file at its
	// next boot (netjob.go): a reboot before it would bring the old one
	// back.
	if v := xenstoreValue(want); interfacesBehind(inv.VMs[vm], v) {
		if err := giveInterfaces(ctx, x, vm, v); err != nil {
			return err
		}
		out.Line("gave domU its %s in xenstore %s, which it installs at boot", InterfacesPath, XenstoreInterfaces)
	}
	c, err := g.host.DialGuest(ctx, "domU", addr, "root", g.lab.DomU.Password)
	if err != nil {
		return err
	}
	have, err := c.Download(ctx, InterfacesPath)
	if err != nil && !isNotExist(err) {
		c.Close()
		return fmt.Errorf("domU: reading %s: %w", InterfacesPath, err)
	}
	wrote := !bytes.Equal(have, want)
	if wrote {
		if _, err := c.UploadBytes(ctx, want, InterfacesPath, 0o644); err != nil {
			c.Close()
			return fmt.Errorf("domU: writing %s: %w", InterfacesPath, err)
		}
		out.Line("wrote domU's %s: %s", InterfacesPath, g.summary())
	}
	c.Close()
	if !wrote && len(g.reported(nets)) == 0 {
		return nil // only xenstore was behind: domU already runs as the file says
	}

	// domU brings its interfaces up as the file says at boot.
	domid := inv.VMs[vm].Domid
	out.Line("rebooting domU so that it comes up with them")
	if err := x.VMCleanReboot(ctx, vm); err != nil {
		return fmt.Errorf("rebooting domU: %w", err)
	}
	ctx, cancel := bootBound(ctx, g.lab)
	defer cancel()
	mgmt := strconv.Itoa(g.lab.DomU.Devices.Management) + "/ip"
	nets, err = x.WaitGuest(ctx, vm, func(rec xapi.VMRecord, nets map[string]string) bool {
		return rec.PowerState == xapi.PowerRunning && rec.Domid != domid && nets[mgmt] != "" && len(g.reported(nets)) == 0
	})
	if err != nil {
		return bootTimedOut(ctx, g.lab, "domU did not come back with the lab file's addresses", err)
	}
	var got []string
	for _, i := range g.ifaces() {
		if ip := nets[strconv.Itoa(i.device)+"/ip"]; ip != "" {
			got = append(got, fmt.Sprintf("eth%d %s", i.device, ip))
		}
	}
	out.Line("guest reports %s", strings.Join(got, ", "))
	addr = net.JoinHostPort(nets[mgmt], strconv.Itoa(g.lab.DomU.SSHPort))
	c, err = g.host.DialGuest(ctx, "domU", addr, "root", g.lab.DomU.Password)
	if err != nil {
		return bootTimedOut(ctx, g.lab, "domU's SSH server at "+addr+" did not answer", err)
	}
	c.Close()
	out.Line("domU ssh %s: host key known", addr)
	return nil
}

// summary says what the interfaces file gives each interface.
func (g *guestNetwork) summary() string {
	var parts []string
	for _, i := range g.ifaces() {
		parts = append(parts, fmt.Sprintf("eth%d %s", i.device, i.ip))
	}
	return strings.Join(parts, ", ")
}

// Destroy has nothing of its own to undo: the file goes with domU.
func (g *guestNetwork) Destroy(context.Context, provision.Output) error { return nil }

// isNotExist reports a missing remote file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
