package steps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// A clone in progress. xapi's VM.clone copies the template's other_config
// (xen-api ocaml/xapi/xapi_vm_clone.ml copy_vm_record: a new mac_seed,
// default_template dropped, base_template_name added, nothing else), and
// is_a_template with it; its only other input is the new name. A run
// killed between VM.clone and its tagging leaves a template that carries
// the template's tags: none at all for a template used as it is
// (template_from = "existing"), the lab's template role for the lab's own
// one. Nothing on it says it is this lab's domU in the making.
//
// So before the clone, domU's step writes its name in the pool's
// other_config under cloneKeyPrefix+<lab> (the lab's key, as the host
// lock's claims are the runs' keys): a name no other VM has (domU's name
// and a random word). The clone is made with that name, tagged, made a VM
// (is_a_template false) and given domU's name; then the key goes. Until
// it goes, every VM of that name is the lab's clone in progress: the next
// run of the step keeps it if it is domU already (tagged, not a template:
// the rename is the step's usual change) and removes it otherwise, with
// its disks, and down removes it in any case.
const cloneKeyPrefix = "xenlab-clone."

// cloneInProgress is the name of the lab's clone in progress, "" when
// there is none, with the pool it is recorded in.
func cloneInProgress(inv *hosts.Snapshot, lab string) (xapi.Ref, string) {
	for r, p := range inv.Pools {
		if name := p.OtherConfig[cloneKeyPrefix+lab]; name != "" {
			return r, name
		}
	}
	return "", ""
}

// cloneName is a name for a new clone of domU: domU's name and a random
// word, which no other VM carries.
func cloneName(lab *localrc.Config) string {
	b := make([]byte, 6)
	rand.Read(b) // crypto/rand never fails on Linux
	return fmt.Sprintf("%s (xenlab clone %s)", lab.DomU.Name, hex.EncodeToString(b))
}

// beginClone records the clone about to be made under its name.
func beginClone(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, lab, name string) error {
	pool, _, ok := hosts.Only(inv.Pools)
	if !ok {
		return fmt.Errorf("the host is in %d pools", len(inv.Pools))
	}
	return c.PoolAddToOtherConfig(ctx, pool, cloneKeyPrefix+lab, name)
}

// endClone removes the record of the lab's clone in progress.
func endClone(ctx context.Context, c *xapi.Client, pool xapi.Ref, lab string) error {
	return c.PoolRemoveFromOtherConfig(ctx, pool, cloneKeyPrefix+lab)
}

// clonesOf returns the VMs named name (a clone in progress; never a
// snapshot, which is not a clone), sorted by reference.
func clonesOf(inv *hosts.Snapshot, name string) []xapi.Ref {
	var out []xapi.Ref
	for _, r := range sortedRefs(inv.VMs) {
		if rec := inv.VMs[r]; rec.NameLabel == name && !rec.IsASnapshot && !rec.IsControlDomain {
			out = append(out, r)
		}
	}
	return out
}

// halfClones returns the lab's VMs that are templates tagged as domU (or
// with the lab's tag and no role): clones whose tagging a kill cut short,
// even without a record (a run of an earlier xenlab). The lab's own
// template and the template build's VMs carry role template.
func halfClones(inv *hosts.Snapshot, lab string) []xapi.Ref {
	var out []xapi.Ref
	for _, r := range ownedVMs(inv, lab, "") {
		rec := inv.VMs[r]
		if role := rec.OtherConfig[TagRole]; rec.IsATemplate && !rec.IsASnapshot && (role == RoleDomU || role == "") {
			out = append(out, r)
		}
	}
	return out
}

// settleClone finishes what a run killed during a clone left: the VM of
// the recorded name that is domU already stays (keep: only when the step
// goes on to make domU; down removes it), every other one goes with its
// disks, as does every other half-made clone (halfClones), then the
// record.
func settleClone(ctx context.Context, h *hosts.Host, lab *localrc.Config, keep bool, out provision.Output) error {
	inv, err := h.Inventory(ctx)
	if err != nil {
		return err
	}
	pool, name := cloneInProgress(inv, lab.Lab)
	var vms []xapi.Ref
	if name != "" {
		vms = clonesOf(inv, name)
	}
	for _, r := range halfClones(inv, lab.Lab) {
		if !slices.Contains(vms, r) {
			vms = append(vms, r)
		}
	}
	if name == "" && len(vms) == 0 {
		return nil
	}
	c, err := h.XAPI(ctx)
	if err != nil {
		return err
	}
	defer h.Changed()
	for _, vm := range vms {
		rec := inv.VMs[vm]
		if keep && isDomU(lab.Lab, rec) && findDomU(inv, lab.Lab) == vm {
			out.Line("the clone %q (%s) an interrupted run made is domU already", rec.NameLabel, rec.UUID)
			continue
		}
		n, err := removeVMOf(ctx, c, inv, vm)
		if err != nil {
			return err
		}
		out.Line("removed the clone %q (%s) an interrupted run left half-made (template %v), and %d disk(s)", rec.NameLabel, rec.UUID, rec.IsATemplate, n)
	}
	if name == "" {
		return nil
	}
	return endClone(ctx, c, pool, lab.Lab)
}
