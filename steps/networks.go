package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// labNetwork is one of the networks the lab needs: its role and name.
type labNetwork struct{ role, name string }

func labNetworks(lab *localrc.Config) []labNetwork {
	return []labNetwork{
		{RoleVMNetwork, lab.Networks.VM},
		{RolePublicNetwork, lab.Networks.Public},
		{RoleIntegrationNetwork, lab.Networks.Integration},
	}
}

// networks ensures the lab's three internal networks (devstack's "OpenStack
// VM Network", "OpenStack Public Network" and "OpenStack VM Integration
// Network"): managed, MTU 1500, tagged with the lab and their role. A
// same-named network that is not the lab's is left alone: the lab makes
// its own and says the name is now shared, or, with
// networks.reuse_existing, adopts the only one of that name and never
// tags, changes or destroys it.
type networks struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (n *networks) Name() string   { return "networks" }
func (n *networks) Deps() []string { return []string{"preflight"} }

// findNetwork returns the lab's network in role: the tagged one, or with
// reuse_existing the only untagged network named name. adopted says which.
func findNetwork(inv *hosts.Snapshot, lab *localrc.Config, role, name string) (ref xapi.Ref, adopted bool, err error) {
	for _, r := range sortedRefs(inv.Networks) {
		if ownedAs(lab.Lab, role, inv.Networks[r].OtherConfig) {
			return r, false, nil
		}
	}
	if !lab.Networks.ReuseExisting {
		return "", false, nil
	}
	same := sameNamed(inv, lab.Lab, name)
	switch len(same) {
	case 0:
		return "", false, nil
	case 1:
		return same[0], true, nil
	}
	return "", false, fmt.Errorf("networks.reuse_existing: %d networks are named %q (%v); rename or remove all but one",
		len(same), name, same)
}

// sameNamed returns the networks named name that are not this lab's.
func sameNamed(inv *hosts.Snapshot, lab, name string) []xapi.Ref {
	var out []xapi.Ref
	for _, r := range sortedRefs(inv.Networks) {
		rec := inv.Networks[r]
		if rec.NameLabel == name && !owned(lab, rec.OtherConfig) {
			out = append(out, r)
		}
	}
	return out
}

// field is the lab-file field that names a network in role.
func networkField(role string) string {
	switch role {
	case RoleVMNetwork:
		return "networks.vm"
	case RolePublicNetwork:
		return "networks.public"
	}
	return "networks.integration"
}

// changes are the lab's own networks whose name is not the one the lab
// file gives: renamed in place (network.set_name_label keeps the bridge,
// the VIFs and the ports). An adopted network is never changed.
func (n *networks) changes(inv *hosts.Snapshot) ([]provision.Change, error) {
	var out []provision.Change
	for _, ln := range labNetworks(n.lab) {
		ref, adopted, err := findNetwork(inv, n.lab, ln.role, ln.name)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			out = append(out, provision.Change{Field: networkField(ln.role), To: ln.name, How: provision.InPlace, Cost: "network.create"})
			continue
		}
		if rec := inv.Networks[ref]; !adopted && rec.NameLabel != ln.name {
			out = append(out, provision.Change{Field: networkField(ln.role), From: rec.NameLabel, To: ln.name,
				How: provision.InPlace, Cost: "renamed; its bridge " + rec.Bridge + " and VIFs stay"})
		}
	}
	return out, nil
}

func (n *networks) Check(ctx context.Context) (bool, error) {
	inv, err := n.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	if _, err := managementNetwork(inv, n.lab); err != nil {
		return false, err
	}
	cs, err := n.changes(inv)
	if err != nil {
		return false, err
	}
	provision.ReportChanges(ctx, cs...)
	return len(cs) == 0, nil
}

func (n *networks) Apply(ctx context.Context, out provision.Output) error {
	inv, err := n.host.Inventory(ctx)
	if err != nil {
		return err
	}
	mgmt, err := managementNetwork(inv, n.lab)
	if err != nil {
		return err
	}
	out.Line("management network %q (bridge %s)", inv.Networks[mgmt].NameLabel, inv.Networks[mgmt].Bridge)
	c, err := n.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer n.host.Changed()
	for _, ln := range labNetworks(n.lab) {
		ref, adopted, err := findNetwork(inv, n.lab, ln.role, ln.name)
		if err != nil {
			return err
		}
		switch {
		case adopted:
			out.Line("%s: adopted the existing network %q (bridge %s); xenlab will not change or remove it",
				ln.role, ln.name, inv.Networks[ref].Bridge)
			continue
		case ref != "" && inv.Networks[ref].NameLabel != ln.name:
			if err := c.NetworkSetNameLabel(ctx, ref, ln.name); err != nil {
				return err
			}
			out.Line("%s: renamed %q to %q in place (bridge %s)", ln.role, inv.Networks[ref].NameLabel, ln.name, inv.Networks[ref].Bridge)
			if same := sameNamed(inv, n.lab.Lab, ln.name); len(same) > 0 {
				out.Line("warning: %d network(s) not of this lab are named %q too, so the name is now shared", len(same), ln.name)
			}
			continue
		case ref != "":
			out.Line("%s: %q exists (bridge %s)", ln.role, inv.Networks[ref].NameLabel, inv.Networks[ref].Bridge)
			continue
		}
		if same := sameNamed(inv, n.lab.Lab, ln.name); len(same) > 0 {
			out.Line("warning: %d network(s) not of this lab are named %q too; xenlab makes its own, "+
				"so the name is now shared (set networks.reuse_existing = true to adopt an existing one)", len(same), ln.name)
		}
		ref, err = c.NetworkCreate(ctx, xapi.NetworkSpec{
			NameLabel:       ln.name,
			NameDescription: "xenlab lab " + n.lab.Lab + ": " + ln.role,
			MTU:             1500,
			OtherConfig:     tags(n.lab.Lab, ln.role),
		})
		if err != nil {
			return err
		}
		out.Line("%s: created %q (%s)", ln.role, ln.name, ref)
	}
	return nil
}

// Destroy removes every network carrying this lab's tag, whatever its
// name or role now (and xapi removes their bridges); adopted networks
// carry no tag and stay.
//
// xapi's network.destroy (xen-api ocaml/xapi/xapi_network.ml, destroy)
// refuses with NETWORK_CONTAINS_VIF while a VIF on the network is
// currently attached, and otherwise deletes every VIF record on it
// ("destroy all the VIFs now rather than wait for the GC thread"): a
// halted VM that is not the lab's would silently lose its VIF. So before
// each destroy Destroy reads the network's VIFs; one of a VM that is not
// the lab's keeps that network, with an error naming the VM, and the
// other networks are still removed. The error says the lab is not fully
// gone; the engine still undoes every step that does not depend on this
// one. (Between the read and the destroy a VIF made by other hands can
// still slip in: xapi has no conditional destroy.)
func (n *networks) Destroy(ctx context.Context, out provision.Output) error {
	inv, err := n.host.Inventory(ctx)
	if err != nil {
		return err
	}
	c, err := n.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer n.host.Changed()
	var kept []error
	for _, r := range sortedRefs(inv.Networks) {
		rec := inv.Networks[r]
		if !owned(n.lab.Lab, rec.OtherConfig) {
			continue
		}
		if users := foreignVIFUsers(inv, n.lab.Lab, r); len(users) > 0 {
			err := fmt.Errorf("network %q (bridge %s, uuid %s) kept: %s; xapi's network.destroy would "+
				"take that VIF with the network (or refuse while it is plugged): move it to another network "+
				"or remove it (xe vif-destroy uuid=...), then run down again",
				rec.NameLabel, rec.Bridge, rec.UUID, strings.Join(users, "; "))
			kept = append(kept, err)
			continue
		}
		if err := c.NetworkDestroy(ctx, r); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
			if xapi.HasCode(err, "NETWORK_CONTAINS_VIF") {
				// A VIF plugged since the read: name what holds it.
				err = fmt.Errorf("network %q (bridge %s) kept: a VIF was plugged into it during down: %w",
					rec.NameLabel, rec.Bridge, err)
			}
			kept = append(kept, err)
			continue
		}
		out.Line("destroyed network %q (bridge %s)", rec.NameLabel, rec.Bridge)
	}
	if len(kept) > 0 {
		return fmt.Errorf("the lab is not fully removed: %w", errors.Join(kept...))
	}
	return nil
}

// foreignVIFUsers describes the VIFs on network net whose VM is not this
// lab's (by its tag): "VM "name" (uuid U) has VIF device D (uuid V,
// plugged|unplugged)", sorted. A VIF whose VM is missing from the
// inventory counts as foreign too: whose it is cannot be told.
func foreignVIFUsers(inv *hosts.Snapshot, lab string, net xapi.Ref) []string {
	var out []string
	for _, v := range sortedRefs(inv.VIFs) {
		vif := inv.VIFs[v]
		if vif.Network != net {
			continue
		}
		state := "unplugged"
		if vif.CurrentlyAttached {
			state = "plugged"
		}
		vm, ok := inv.VMs[vif.VM]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("VIF %s (device %s, %s) belongs to VM %s, which xapi does not list",
				vif.UUID, vif.Device, state, vif.VM))
		case !owned(lab, vm.OtherConfig):
			out = append(out, fmt.Sprintf("VM %q (uuid %s), not this lab's, has VIF device %s on it (uuid %s, %s)",
				vm.NameLabel, vm.UUID, vif.Device, vif.UUID, state))
		}
	}
	return out
}

// managementNetwork is the network named networks.management, or the
// network whose dom0 bridge is networks.management_bridge, or else the
// network of the host's management PIF (devstack's _network_uuid read
// MGT_BRIDGE_OR_NET_NAME as either, tools/xen/functions).
func managementNetwork(inv *hosts.Snapshot, lab *localrc.Config) (xapi.Ref, error) {
	name, bridge := lab.Networks.Management, lab.Networks.ManagementBridge
	if name != "" || bridge != "" {
		var found []xapi.Ref
		for _, r := range sortedRefs(inv.Networks) {
			if rec := inv.Networks[r]; (name != "" && rec.NameLabel == name) || (bridge != "" && rec.Bridge == bridge) {
				found = append(found, r)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case bridge != "":
			return "", fmt.Errorf("networks.management_bridge: %d networks have the dom0 bridge %q, want exactly one", len(found), bridge)
		}
		return "", fmt.Errorf("networks.management: %d networks are named %q, want exactly one", len(found), name)
	}
	for _, r := range sortedRefs(inv.PIFs) {
		if p := inv.PIFs[r]; p.Management {
			if _, ok := inv.Networks[p.Network]; ok {
				return p.Network, nil
			}
		}
	}
	return "", fmt.Errorf("no PIF is the management interface; name the management network in networks.management")
}

// sortedRefs returns a map's references in order.
func sortedRefs[T any](m map[xapi.Ref]T) []xapi.Ref {
	out := make([]xapi.Ref, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
