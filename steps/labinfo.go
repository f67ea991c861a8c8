package steps

import (
	"context"
	"slices"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/localrc"
)

// LabBridges are dom0's bridges of the lab's networks (its VM, public and
// integration networks, and the management network's), sorted, for what
// reads the lab's switch from outside the steps (xenlab logs).
func LabBridges(inv *hosts.Snapshot, lab *localrc.Config) []string {
	var out []string
	add := func(br string) {
		if br != "" && !slices.Contains(out, br) {
			out = append(out, br)
		}
	}
	v := viewOf(inv, lab)
	for _, ln := range labNetworks(lab) {
		if ref, _, err := v.network(ln.role); err == nil && ref != "" {
			add(inv.Networks[ref].Bridge)
		}
	}
	if ref, err := managementNetwork(inv, lab); err == nil && ref != "" {
		add(inv.Networks[ref].Bridge)
	}
	slices.Sort(out)
	return out
}

// DomUAddress is domU's SSH address (host:port) as xapi reports it, or ""
// when domU does not exist, is not running or reports no address.
func DomUAddress(inv *hosts.Snapshot, lab *localrc.Config) string { return viewOf(inv, lab).domUAddr() }

// DomU returns the host's SSH connection to domU as the lab's stack user
// (hosts.Host.DomU, shared with the steps), or an error saying domU is not
// running or reports no address.
func DomU(ctx context.Context, h *hosts.Host, inv *hosts.Snapshot, lab *localrc.Config) (*ssh.Client, error) {
	return domUConn(ctx, h, viewOf(inv, lab))
}

// Owned reports whether an xapi object's other_config marks it as the lab's.
func Owned(lab string, otherConfig map[string]string) bool { return owned(lab, otherConfig) }
