package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// domu clones the template into the lab's guest, as devstack's
// install-os-vpx.sh did: memory and vCPUs from the lab file, its VIFs with
// explicit devices (management, VM network, public and, with the
// placeholder method, the integration network), locking mode
// network_default, and PV-args carrying the bridges devstack's domU read
// from /proc/cmdline (flat_network_bridge=, xen_integration_bridge=).
// The VM and its VIFs carry the lab's tag.
type domu struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (d *domu) Name() string   { return "domU" }
func (d *domu) Deps() []string { return []string{"networks", "template"} }

// findDomU returns the lab's guest, or "" when there is none.
func findDomU(inv *hosts.Snapshot, lab string) xapi.Ref {
	for _, r := range ownedVMs(inv, lab, RoleDomU) {
		if rec := inv.VMs[r]; !rec.IsATemplate && !rec.IsASnapshot {
			return r
		}
	}
	return ""
}

// wantVIF is one VIF domU must have.
type wantVIF struct {
	device  string
	network xapi.Ref
	role    string
}

// plan reads what domU must look like from the inventory.
type domuPlan struct {
	template xapi.Ref
	vifs     []wantVIF
	pvArgs   map[string]string // kernel arguments to set
}

func (d *domu) plan(inv *hosts.Snapshot) (*domuPlan, error) {
	p := &domuPlan{}
	var err error
	if p.template, err = findTemplate(inv, d.lab); err != nil {
		return nil, err
	}
	mgmt, err := managementNetwork(inv, d.lab)
	if err != nil {
		return nil, err
	}
	nets := map[string]xapi.Ref{}
	for _, ln := range labNetworks(d.lab) {
		ref, _, err := findNetwork(inv, d.lab, ln.role, ln.name)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			return nil, fmt.Errorf("the %s %q does not exist (step networks)", ln.role, ln.name)
		}
		nets[ln.role] = ref
	}
	dev := d.lab.DomU.Devices
	p.vifs = []wantVIF{
		{fmt.Sprint(dev.Management), mgmt, RoleVIF},
		{fmt.Sprint(dev.VM), nets[RoleVMNetwork], RoleVIF},
		{fmt.Sprint(dev.Public), nets[RolePublicNetwork], RoleVIF},
	}
	if d.lab.Networks.IntegrationBridge == localrc.BridgePlaceholder {
		p.vifs = append(p.vifs, wantVIF{fmt.Sprint(dev.Integration), nets[RoleIntegrationNetwork], RolePlaceholderVIF})
	}
	p.pvArgs = map[string]string{
		"flat_network_bridge":    inv.Networks[nets[RoleVMNetwork]].Bridge,
		"xen_integration_bridge": inv.Networks[nets[RoleIntegrationNetwork]].Bridge,
	}
	return p, nil
}

// withArgs returns PV-args with each key=value of args set, replacing an
// earlier value of the same key and keeping the other words.
func withArgs(pv string, args map[string]string) string {
	var words []string
	for _, w := range strings.Fields(pv) {
		k, _, _ := strings.Cut(w, "=")
		if _, ours := args[k]; !ours {
			words = append(words, w)
		}
	}
	for _, k := range sortedKeys(args) {
		words = append(words, k+"="+args[k])
	}
	return strings.Join(words, " ")
}

// wrongVIFs returns domU's VIFs that are not as wanted and the wanted
// VIFs it lacks.
func wrongVIFs(inv *hosts.Snapshot, lab string, vm xapi.Ref, want []wantVIF) (extra []xapi.Ref, missing []wantVIF) {
	have := map[string]xapi.Ref{}
	for _, r := range inv.VMs[vm].VIFs {
		v, ok := inv.VIFs[r]
		if !ok {
			continue
		}
		ok = false
		for _, w := range want {
			if w.device == v.Device && w.network == v.Network && ownedAs(lab, w.role, v.OtherConfig) &&
				v.LockingMode == xapi.LockingNetworkDefault {
				ok = true
			}
		}
		if ok {
			have[v.Device] = r
		} else {
			extra = append(extra, r)
		}
	}
	for _, w := range want {
		if _, ok := have[w.device]; !ok {
			missing = append(missing, w)
		}
	}
	return extra, missing
}

// differs lists what of domU's configuration is not as the lab file says.
func (d *domu) differs(inv *hosts.Snapshot, vm xapi.Ref, p *domuPlan) []string {
	rec := inv.VMs[vm]
	var out []string
	if rec.PowerState == xapi.PowerHalted {
		if mem := d.lab.DomU.Memory.Bytes(); rec.MemoryStaticMax != mem || rec.MemoryDynamicMax != mem || rec.MemoryDynamicMin != mem {
			out = append(out, "memory")
		}
		if n := int64(d.lab.DomU.VCPUs); rec.VCPUsMax != n || rec.VCPUsAtStartup != n {
			out = append(out, "vCPUs")
		}
	}
	if withArgs(rec.PVArgs, p.pvArgs) != rec.PVArgs {
		out = append(out, "PV-args")
	}
	if hostKeyMissing(rec) {
		out = append(out, "SSH host key") // hostkey.go
	}
	if extra, missing := wrongVIFs(inv, d.lab.Lab, vm, p.vifs); len(extra)+len(missing) > 0 {
		out = append(out, "VIFs")
	}
	return out
}

func (d *domu) Check(ctx context.Context) (bool, error) {
	inv, err := d.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	vm := findDomU(inv, d.lab.Lab)
	if vm == "" {
		return false, nil
	}
	p, err := d.plan(inv)
	if err != nil {
		return false, err
	}
	return len(d.differs(inv, vm, p)) == 0, nil
}

func (d *domu) Apply(ctx context.Context, out provision.Output) error {
	inv, err := d.host.Inventory(ctx)
	if err != nil {
		return err
	}
	p, err := d.plan(inv)
	if err != nil {
		return err
	}
	c, err := d.host.XAPI(ctx)
	if err != nil {
		return err
	}
	defer d.host.Changed()
	vm := findDomU(inv, d.lab.Lab)
	if vm == "" {
		if p.template == "" {
			return fmt.Errorf("domU's template is missing (step template)")
		}
		if vm, err = d.clone(ctx, c, p.template, inv.VMs[p.template].OtherConfig); err != nil {
			return err
		}
		out.Line("cloned %q from %q: %s", d.lab.DomU.Name, inv.VMs[p.template].NameLabel, vm)
		d.host.Changed()
		if inv, err = d.host.Inventory(ctx); err != nil {
			return err
		}
	}
	rec := inv.VMs[vm]
	if rec.PowerState == xapi.PowerHalted {
		mem := d.lab.DomU.Memory.Bytes()
		if err := c.VMSetMemoryLimits(ctx, vm, min(rec.MemoryStaticMin, mem), mem, mem, mem); err != nil {
			return err
		}
		if err := c.VMSetVCPUs(ctx, vm, int64(d.lab.DomU.VCPUs)); err != nil {
			return err
		}
		out.Line("memory %s, %d vCPUs", d.lab.DomU.Memory, d.lab.DomU.VCPUs)
	}
	if hostKeyMissing(rec) { // before its first boot: hostkey.go
		if err := giveHostKey(ctx, c, d.host, d.lab, vm, rec, out); err != nil {
			return err
		}
	}
	if args := withArgs(rec.PVArgs, p.pvArgs); args != rec.PVArgs {
		if err := c.VMSetPVArgs(ctx, vm, args); err != nil {
			return err
		}
		out.Line("PV-args: %s", args)
	}
	extra, missing := wrongVIFs(inv, d.lab.Lab, vm, p.vifs)
	for _, r := range extra {
		v := inv.VIFs[r]
		if v.CurrentlyAttached {
			if err := c.VIFUnplug(ctx, r); err != nil {
				return err
			}
		}
		if err := c.VIFDestroy(ctx, r); err != nil {
			return err
		}
		out.Line("removed VIF %s (device %s, from the template or not as the lab wants)", v.UUID, v.Device)
	}
	for _, w := range missing {
		ref, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: w.network, Device: w.device,
			LockingMode: xapi.LockingNetworkDefault, OtherConfig: tags(d.lab.Lab, w.role)})
		if err != nil {
			return err
		}
		if rec.PowerState == xapi.PowerRunning {
			if err := c.VIFPlug(ctx, ref); err != nil {
				return err
			}
		}
		out.Line("VIF device %s on %q (bridge %s)", w.device, inv.Networks[w.network].NameLabel, inv.Networks[w.network].Bridge)
	}
	return nil
}

// cloneTimeout bounds VM.clone and the tagging after it, which an
// interruption does not cut short.
const cloneTimeout = 10 * time.Minute

// clone makes domU from the template and tags it. Once the clone exists
// it is tagged even if ctx is cancelled meanwhile, and removed if it
// cannot be tagged, so no untagged copy is left behind for down to miss.
func (d *domu) clone(ctx context.Context, c *xapi.Client, tpl xapi.Ref, tplConfig map[string]string) (xapi.Ref, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// Once asked for, the clone is waited for even if ctx ends meanwhile:
	// an interrupted call would leave a copy whose reference nobody knows,
	// untagged, which down would never find.
	keep, stop := context.WithTimeout(context.WithoutCancel(ctx), cloneTimeout)
	defer stop()
	vm, err := c.VMClone(keep, tpl, d.lab.DomU.Name)
	if err != nil {
		return "", err
	}
	// The clone carries the template's other_config: the lab's own
	// template already has the lab's tag, with role template.
	for _, k := range []string{TagLab, TagRole} {
		v, had := tplConfig[k]
		want := tags(d.lab.Lab, RoleDomU)[k]
		if err != nil || v == want {
			continue
		}
		if had {
			err = c.VMRemoveFromOtherConfig(keep, vm, k)
		}
		if err == nil {
			err = c.VMAddToOtherConfig(keep, vm, k, want)
		}
	}
	if err == nil {
		err = c.VMSetIsATemplate(keep, vm, false)
	}
	if err != nil {
		// Before the tags the clone may carry the template's; this lab's
		// tag with any role is enough for down to find it.
		if derr := c.VMDestroy(keep, vm); derr != nil {
			return "", fmt.Errorf("%w (and removing the half-made clone %s: %v)", err, vm, derr)
		}
		return "", err
	}
	return vm, nil
}

// Destroy removes every VM carrying this lab's tag that is not its cached
// template: domU whatever its name now, its snapshots, their disks and
// VIFs.
func (d *domu) Destroy(ctx context.Context, out provision.Output) error {
	return destroyVMs(ctx, d.host, d.lab, "", out)
}

// destroyVMs shuts down and removes this lab's VMs in role (with role "",
// all but the template), with the disks only they use.
func destroyVMs(ctx context.Context, h *hosts.Host, lab *localrc.Config, role string, out provision.Output) error {
	inv, err := h.Inventory(ctx)
	if err != nil {
		return err
	}
	c, err := h.XAPI(ctx)
	if err != nil {
		return err
	}
	defer h.Changed()
	for _, vm := range ownedVMs(inv, lab.Lab, "") {
		rec := inv.VMs[vm]
		r := rec.OtherConfig[TagRole]
		if (role == "" && r == RoleTemplate) || (role != "" && r != role) {
			continue
		}
		if rec.PowerState != xapi.PowerHalted && !rec.IsASnapshot { // a checkpoint is Suspended, not running
			if err := c.VMHardShutdown(ctx, vm); err != nil && !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
				return err
			}
		}
		vdis := vmDisks(inv, vm)
		if !rec.SuspendVDI.IsNull() { // a suspended VM's or checkpoint's memory image
			vdis = append(vdis, rec.SuspendVDI)
		}
		// Disks first: if down stops between the two, the tagged VM is
		// still there for the next down to find, not untagged disks.
		for _, vdi := range vdis {
			if err := c.VDIDestroy(ctx, vdi); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
				return err
			}
		}
		if err := c.VMDestroy(ctx, vm); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
			return err
		}
		out.Line("destroyed VM %q (%s) and %d disk(s)", rec.NameLabel, rec.UUID, len(vdis))
		if err := forgetHostKey(h, lab, rec, out); err != nil { // hostkey.go
			return err
		}
	}
	return nil
}

// onlyUser reports whether no VM but vm has a VBD on vdi.
func onlyUser(inv *hosts.Snapshot, vdi, vm xapi.Ref) bool {
	for _, b := range inv.VBDs {
		if b.VDI == vdi && b.VM != vm {
			return false
		}
	}
	return true
}
