package steps

import (
	"context"
	"fmt"

	"xenlab/hosts"
	"xenlab/localrc"
)

// Removal lists what `down` would remove from h, read from one inventory
// (as Terraform's destroy shows its plan before it asks): the lab's VMs
// (domU, its snapshots, and the cached template with purge) with the disks
// only they use, and the lab's networks. Only objects carrying the lab's
// tag are listed, as only they are removed, and the clone a killed run
// recorded (clone.go). kept names what stays (the cached template without
// purge).
func Removal(ctx context.Context, lab *localrc.Config, h *hosts.Host, purge bool) (remove, kept []string, err error) {
	inv, err := h.Inventory(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, vm := range ownedVMs(inv, lab.Lab, "") {
		rec := inv.VMs[vm]
		kind := "VM"
		switch {
		case rec.IsASnapshot:
			kind = "snapshot"
		case rec.OtherConfig[TagRole] == RoleTemplate:
			if !purge {
				kept = append(kept, fmt.Sprintf("template %q (%s): the cached template (--purge-template removes it)", rec.NameLabel, rec.UUID))
				continue
			}
			kind = "template"
		}
		remove = append(remove, fmt.Sprintf("%s %q (%s, %s) and %d disk(s)", kind, rec.NameLabel, rec.UUID, rec.PowerState, len(ownDisks(inv, vm))))
	}
	if _, name := cloneInProgress(inv, lab.Lab); name != "" { // clone.go: untagged when the template is
		for _, vm := range clonesOf(inv, name) {
			if rec := inv.VMs[vm]; !owned(lab.Lab, rec.OtherConfig) {
				remove = append(remove, fmt.Sprintf("VM %q (%s): a clone of domU a killed run left untagged, and %d disk(s)",
					rec.NameLabel, rec.UUID, len(ownDisks(inv, vm))))
			}
		}
	}
	for _, r := range sortedRefs(inv.Networks) {
		if rec := inv.Networks[r]; owned(lab.Lab, rec.OtherConfig) {
			remove = append(remove, fmt.Sprintf("network %q (bridge %s)", rec.NameLabel, rec.Bridge))
		}
	}
	return remove, kept, nil
}
