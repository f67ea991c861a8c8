package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// labView is the lab's objects in one read of a host's inventory: the
// questions the steps, status, verify and collect all ask (domU, its
// boot, the lab's networks and bridges, the placeholder VIF), answered in
// one place, by the ownership tags (owner.go).
type labView struct {
	inv *hosts.Snapshot
	lab *localrc.Config
}

// viewOf is the lab's view of inv.
func viewOf(inv *hosts.Snapshot, lab *localrc.Config) labView { return labView{inv: inv, lab: lab} }

// readView reads the host's inventory and returns the lab's view of it.
func readView(ctx context.Context, h *hosts.Host, lab *localrc.Config) (labView, error) {
	inv, err := h.Inventory(ctx)
	if err != nil {
		return labView{}, err
	}
	return viewOf(inv, lab), nil
}

// findDomU returns the lab's guest, or "" when there is none.
func findDomU(inv *hosts.Snapshot, lab string) xapi.Ref {
	for _, r := range ownedVMs(inv, lab, "") {
		if isDomU(lab, inv.VMs[r]) {
			return r
		}
	}
	return ""
}

// isDomU reports whether a VM is the lab's guest: the lab's VM that is
// neither a template nor a snapshot, tagged with role domu or with the
// role a run killed half-way leaves on it. xapi's VM.revert gives the VM
// the snapshot's configuration, other_config included (xen-api
// ocaml/xapi/xapi_vm_snapshot.ml, revert: update_vm_record copies every
// field of the snapshot but its identity), so between the revert and
// reset's retag domU carries role snapshot; between retag's removal of
// the role and its new one it carries none. Neither is a snapshot
// (is_a_snapshot stays false on the reverted VM). The template build's
// VMs carry role template and are templates or snapshots until the end.
func isDomU(lab string, rec xapi.VMRecord) bool {
	if !owned(lab, rec.OtherConfig) || rec.IsATemplate || rec.IsASnapshot {
		return false
	}
	switch rec.OtherConfig[TagRole] {
	case RoleDomU, RoleSnapshot, "":
		return true
	}
	return false
}

// domU is the lab's guest, "" when there is none.
func (v labView) domU() xapi.Ref { return findDomU(v.inv, v.lab.Lab) }

// domURecord is domU's record and whether domU exists.
func (v labView) domURecord() (xapi.Ref, xapi.VMRecord, bool) {
	vm := v.domU()
	if vm == "" {
		return "", xapi.VMRecord{}, false
	}
	return vm, v.inv.VMs[vm], true
}

// domUBoot is the boot domU is in now (its SSH address as its guest
// metrics report it, and its domain), false when domU does not exist, is
// not running or reports no address yet.
func (v labView) domUBoot() (hosts.Boot, bool) {
	vm := v.domU()
	if vm == "" {
		return hosts.Boot{}, false
	}
	ip := guestIP(v.inv, vm, v.lab.DomU.Devices.Management)
	if ip == "" {
		return hosts.Boot{}, false
	}
	return hosts.Boot{Addr: net.JoinHostPort(ip, strconv.Itoa(v.lab.DomU.SSHPort)), Domain: v.inv.VMs[vm].Domid}, true
}

// domUAddr is domU's SSH address, "" when it has none (domUBoot).
func (v labView) domUAddr() string {
	b, _ := v.domUBoot()
	return b.Addr
}

// network returns the lab's network in role (RoleVMNetwork, ...): the
// tagged one, or the adopted one (findNetwork); "" when there is none.
func (v labView) network(role string) (ref xapi.Ref, adopted bool, err error) {
	for _, ln := range labNetworks(v.lab) {
		if ln.role == role {
			return findNetwork(v.inv, v.lab, ln.role, ln.name)
		}
	}
	return "", false, fmt.Errorf("no network has role %q", role)
}

// integrationBridge returns the integration network and its bridge.
func (v labView) integrationBridge() (xapi.Ref, string, error) {
	ref, _, err := v.network(RoleIntegrationNetwork)
	if err != nil {
		return "", "", err
	}
	if ref == "" {
		return "", "", errors.New("the integration network does not exist (step networks)")
	}
	return ref, v.inv.Networks[ref].Bridge, nil
}

// vmBridge returns dom0's bridge of the VM network.
func (v labView) vmBridge() (string, error) {
	ref, _, err := v.network(RoleVMNetwork)
	if err != nil {
		return "", err
	}
	if ref == "" {
		return "", errors.New("the VM network does not exist (step networks)")
	}
	return v.inv.Networks[ref].Bridge, nil
}

// placeholderVIF returns domU's placeholder VIF.
func (v labView) placeholderVIF() (xapi.Ref, xapi.VIFRecord, bool) {
	vm := v.domU()
	for _, r := range v.inv.VMs[vm].VIFs {
		if rec, ok := v.inv.VIFs[r]; ok && ownedAs(v.lab.Lab, RolePlaceholderVIF, rec.OtherConfig) {
			return r, rec, true
		}
	}
	return "", xapi.VIFRecord{}, false
}

// placeholderUUID is the placeholder VIF's uuid, "" when there is none.
func (v labView) placeholderUUID() string {
	if _, rec, ok := v.placeholderVIF(); ok {
		return rec.UUID
	}
	return ""
}

// errDomUDown is what a step that needs domU's guest says when it is not
// running or reports no address.
var errDomUDown = errors.New("domU is not running or reports no address (step boot)")

// domUConn is the host's SSH connection to domU (hosts.Host.DomU) as the
// lab's stack user, for the boot domU is in now, as devstack's
// install_os_domU.sh connected (dom0's key, then the guest password; the
// host key the boot step recorded).
func domUConn(ctx context.Context, h *hosts.Host, v labView) (*ssh.Client, error) {
	b, ok := v.domUBoot()
	if !ok {
		return nil, errDomUDown
	}
	return h.DomU(ctx, b, v.lab.DomU.SSHUser, v.lab.DomU.Password)
}
