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

// wantVIF is one VIF domU must have.
type wantVIF struct {
	device  string
	network xapi.Ref
	role    string
	field   string // the lab-file field that names its network
}

// plan reads what domU must look like from the inventory.
type domuPlan struct {
	template xapi.Ref
	vifs     []wantVIF
	pvArgs   map[string]string // kernel arguments to set
	// interfaces is domU's /etc/network/interfaces as the lab renders
	// it, as its xenstore_data value (netjob.go).
	interfaces string
}

func (d *domu) plan(inv *hosts.Snapshot) (*domuPlan, error) {
	p := &domuPlan{}
	file, err := (&guestNetwork{lab: d.lab}).render()
	if err != nil {
		return nil, err
	}
	p.interfaces = xenstoreValue(file)
	if p.template, err = findTemplate(inv, d.lab); err != nil {
		return nil, err
	}
	mgmt, err := managementNetwork(inv, d.lab)
	if err != nil {
		return nil, err
	}
	nets := map[string]xapi.Ref{}
	v := viewOf(inv, d.lab)
	for _, ln := range labNetworks(d.lab) {
		ref, _, err := v.network(ln.role)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			return nil, fmt.Errorf("the %s %q does not exist (step networks)", ln.role, ln.name)
		}
		nets[ln.role] = ref
	}
	dev := d.lab.DomU.Devices
	mgmtField := "networks.management"
	if d.lab.Networks.ManagementBridge != "" {
		mgmtField = "networks.management_bridge"
	}
	p.vifs = []wantVIF{
		{fmt.Sprint(dev.Management), mgmt, RoleVIF, mgmtField},
		{fmt.Sprint(dev.VM), nets[RoleVMNetwork], RoleVIF, "networks.vm"},
		{fmt.Sprint(dev.Public), nets[RolePublicNetwork], RoleVIF, "networks.public"},
	}
	if d.lab.Networks.IntegrationBridge == localrc.BridgePlaceholder {
		p.vifs = append(p.vifs, wantVIF{fmt.Sprint(dev.Integration), nets[RoleIntegrationNetwork], RolePlaceholderVIF, "networks.integration"})
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

// What making a change to domU costs, in words (plan prints it).
const (
	costStopped = "a clean shutdown of domU, then boot starts it again and its services restart"
	costRebuilt = "domU is removed and cloned again from the template, stack.sh runs again and the snapshot step takes a new clean snapshot"
	costHotplug = "the VIF is replaced (hotplugged when domU runs)"
)

// rootDisk returns domU's (or a template's) bootable disk and its size.
func rootDisk(inv *hosts.Snapshot, vm xapi.Ref) (xapi.Ref, int64) {
	for _, b := range inv.VMs[vm].VBDs {
		if vbd, ok := inv.VBDs[b]; ok && vbd.Type == "Disk" && (vbd.Bootable || vbd.Userdevice == "0") && !vbd.VDI.IsNull() {
			return vbd.VDI, inv.VDIs[vbd.VDI].VirtualSize
		}
	}
	return "", 0
}

// xvdbDisk returns domU's extra disk (the lab's tagged disk at userdevice
// 1), or "".
func xvdbDisk(inv *hosts.Snapshot, lab string, vm xapi.Ref) (xapi.Ref, int64) {
	for _, b := range inv.VMs[vm].VBDs {
		vbd, ok := inv.VBDs[b]
		if !ok || vbd.VDI.IsNull() {
			continue
		}
		if vdi, ok := inv.VDIs[vbd.VDI]; ok && ownedAs(lab, RoleXVDB, vdi.OtherConfig) {
			return vbd.VDI, vdi.VirtualSize
		}
	}
	return "", 0
}

// changes lists what of domU is not as the lab file says, each with how
// Apply makes it: in place; with domU stopped (xapi changes memory and
// vCPUs only on a halted VM, VM_BAD_POWER_STATE otherwise; new kernel
// arguments and disks take effect at boot); or by rebuilding domU (its
// root disk comes from the template).
func (d *domu) changes(inv *hosts.Snapshot, vm xapi.Ref, p *domuPlan) []provision.Change {
	rec := inv.VMs[vm]
	running := rec.PowerState != xapi.PowerHalted
	stopped := provision.InPlace
	stoppedCost := ""
	if running {
		stopped, stoppedCost = provision.DomUStopped, costStopped
	}
	var out []provision.Change
	add := func(field, from, to string, how provision.How, cost string) {
		out = append(out, provision.Change{Field: field, From: from, To: to, How: how, Cost: cost})
	}
	// Rebuilt: a template other than the one domU came from (rebuilt, or
	// another one named), or a root disk of another size.
	if from, ok := rec.OtherConfig[TagTemplate]; ok && p.template != "" && from != inv.VMs[p.template].UUID {
		add("domu.template", templateName(inv, from), fmt.Sprintf("%s (%s)", inv.VMs[p.template].NameLabel, inv.VMs[p.template].UUID),
			provision.DomURebuilt, costRebuilt)
		return out // the clone brings everything else
	}
	if _, size := rootDisk(inv, vm); size != 0 && d.lab.DomU.TemplateFrom == localrc.TemplateInstall && size != d.lab.DomU.Disk.Bytes() {
		add("domu.disk", localrc.Size(size).String(), d.lab.DomU.Disk.String(), provision.DomURebuilt, costRebuilt)
		return out
	}
	if rec.NameLabel != d.lab.DomU.Name {
		add("domu.name", rec.NameLabel, d.lab.DomU.Name, provision.InPlace, "")
	}
	if role := rec.OtherConfig[TagRole]; role != RoleDomU { // labview.go isDomU: a run killed while it retagged domU
		add("domU's "+TagRole+" tag", orDash(role), RoleDomU, provision.InPlace, "")
	}
	if mem := d.lab.DomU.Memory.Bytes(); rec.MemoryStaticMax != mem || rec.MemoryDynamicMax != mem || rec.MemoryDynamicMin != mem {
		add("domu.memory", localrc.Size(rec.MemoryStaticMax).String(), d.lab.DomU.Memory.String(), stopped, stoppedCost)
	}
	if n := int64(d.lab.DomU.VCPUs); rec.VCPUsMax != n || rec.VCPUsAtStartup != n {
		add("domu.vcpus", fmt.Sprint(rec.VCPUsAtStartup), fmt.Sprint(n), stopped, stoppedCost)
	}
	if args := withArgs(rec.PVArgs, p.pvArgs); args != rec.PVArgs {
		add("domU's kernel arguments (the bridges of networks.vm and networks.integration)", rec.PVArgs, args, stopped, stoppedCost)
	}
	extra, missing := wrongVIFs(inv, d.lab.Lab, vm, p.vifs)
	for _, w := range missing {
		from := ""
		for _, r := range extra {
			if v := inv.VIFs[r]; v.Device == w.device {
				from = fmt.Sprintf("device %s on %q", v.Device, inv.Networks[v.Network].NameLabel)
			}
		}
		add(w.field, from, fmt.Sprintf("device %s on %q", w.device, inv.Networks[w.network].NameLabel), provision.InPlace, costHotplug)
	}
	for _, r := range extra {
		v := inv.VIFs[r]
		replaced := false
		for _, w := range missing {
			replaced = replaced || w.device == v.Device
		}
		if !replaced {
			add("domu.devices", fmt.Sprintf("device %s on %q", v.Device, inv.Networks[v.Network].NameLabel), "", provision.InPlace, "the VIF is removed")
		}
	}
	if _, size := xvdbDisk(inv, d.lab.Lab, vm); size != d.lab.DomU.XVDB.Bytes() {
		from := ""
		if size != 0 {
			from = localrc.Size(size).String()
		}
		to := ""
		if d.lab.DomU.XVDB > 0 {
			to = d.lab.DomU.XVDB.String()
		}
		add("domu.xvdb_size", from, to, stopped, stoppedCost)
	}
	if hostKeyMissing(rec) { // hostkey.go: before domU's first boot
		add("domU's SSH host key", "", "made by xenlab, given to domU in xenstore "+XenstoreHostKey, provision.InPlace, "")
	}
	if !running && interfacesBehind(rec, p.interfaces) { // netjob.go: before domU boots
		from := ""
		if rec.XenstoreInterfaces != "" {
			from = "another file"
		}
		add("domU's "+InterfacesPath+" (domu.management_ip / vm_ip / public_ip)", from,
			"as the lab file says, given to domU in xenstore "+XenstoreInterfaces, provision.InPlace, "")
	}
	return out
}

// templateName names the template with that UUID, or says it is gone.
func templateName(inv *hosts.Snapshot, uuid string) string {
	for _, r := range sortedRefs(inv.VMs) {
		if rec := inv.VMs[r]; rec.UUID == uuid {
			return fmt.Sprintf("%s (%s)", rec.NameLabel, uuid)
		}
	}
	return uuid + " (removed)"
}

func (d *domu) Check(ctx context.Context) (bool, error) {
	inv, err := d.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	vm := viewOf(inv, d.lab).domU()
	if _, clone := cloneInProgress(inv, d.lab.Lab); vm == "" || clone != "" || len(halfClones(inv, d.lab.Lab)) > 0 {
		return false, nil // clone.go: a run killed while it cloned domU
	}
	p, err := d.plan(inv)
	if err != nil {
		return false, err
	}
	cs := d.changes(inv, vm, p)
	provision.ReportChanges(ctx, cs...)
	for _, c := range cs {
		if c.Field == "domu.memory" && d.lab.DomU.Memory.Bytes() > inv.VMs[vm].MemoryStaticMax {
			// More memory than the host can give fails here, in plan
			// too, as preflight refuses it in up.
			if err := d.memoryFits(ctx, inv); err != nil {
				return false, err
			}
		}
	}
	return len(cs) == 0, nil
}

// memoryFits checks that the host has the memory domu.memory adds.
func (d *domu) memoryFits(ctx context.Context, inv *hosts.Snapshot) error {
	c, err := d.host.XAPI(ctx)
	if err != nil {
		return err
	}
	host, _, ok := hosts.Only(inv.Hosts)
	if !ok {
		return fmt.Errorf("the host is in a pool of %d hosts", len(inv.Hosts))
	}
	return checkMemory(ctx, c, inv, host, d.lab, nil)
}

func (d *domu) Apply(ctx context.Context, out provision.Output) error {
	if err := settleClone(ctx, d.host, d.lab, true, out); err != nil { // clone.go
		return err
	}
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
	vm := viewOf(inv, d.lab).domU()
	if vm != "" {
		if cs := d.changes(inv, vm, p); len(cs) > 0 && cs[0].How == provision.DomURebuilt {
			out.Line("%s: %s", cs[0], "rebuilding domU")
			if err := destroyVMs(ctx, d.host, d.lab, RoleDomU, out); err != nil {
				return err
			}
			if inv, err = d.host.Inventory(ctx); err != nil {
				return err
			}
			vm = ""
		}
	}
	if vm == "" {
		if p.template == "" {
			return fmt.Errorf("domU's template is missing (step template)")
		}
		if vm, err = d.clone(ctx, c, inv, p.template); err != nil {
			return err
		}
		out.Line("cloned %q from %q: %s", d.lab.DomU.Name, inv.VMs[p.template].NameLabel, vm)
		d.host.Changed()
		if inv, err = d.host.Inventory(ctx); err != nil {
			return err
		}
	}
	cs := d.changes(inv, vm, p)
	rec := inv.VMs[vm]
	if needsStop(cs) && rec.PowerState != xapi.PowerHalted {
		if err := d.stop(ctx, c, inv, vm, cs, out); err != nil {
			return err
		}
		d.host.Changed()
		if inv, err = d.host.Inventory(ctx); err != nil {
			return err
		}
		rec = inv.VMs[vm]
	}
	if rec.NameLabel != d.lab.DomU.Name {
		if err := c.VMSetNameLabel(ctx, vm, d.lab.DomU.Name); err != nil {
			return err
		}
		out.Line("renamed domU %q to %q", rec.NameLabel, d.lab.DomU.Name)
	}
	if role := rec.OtherConfig[TagRole]; role != RoleDomU {
		if err := retag(ctx, c, vm, RoleDomU); err != nil {
			return err
		}
		out.Line("tagged domU with %s=%s (it had %s, from a run killed while it tagged it)", TagRole, RoleDomU, orDash(role))
	}
	if rec.PowerState == xapi.PowerHalted {
		mem := d.lab.DomU.Memory.Bytes()
		if rec.MemoryStaticMax != mem || rec.MemoryDynamicMax != mem || rec.MemoryDynamicMin != mem {
			if err := c.VMSetMemoryLimits(ctx, vm, min(rec.MemoryStaticMin, mem), mem, mem, mem); err != nil {
				return err
			}
			out.Line("memory %s (was %s)", d.lab.DomU.Memory, localrc.Size(rec.MemoryStaticMax))
		}
		if n := int64(d.lab.DomU.VCPUs); rec.VCPUsMax != n || rec.VCPUsAtStartup != n {
			if err := c.VMSetVCPUs(ctx, vm, n); err != nil {
				return err
			}
			out.Line("%d vCPUs (was %d)", n, rec.VCPUsAtStartup)
		}
		if err := d.xvdb(ctx, c, inv, vm, out); err != nil {
			return err
		}
	}
	if hostKeyMissing(rec) { // before its first boot: hostkey.go
		if err := giveHostKey(ctx, c, d.host, d.lab, vm, rec, out); err != nil {
			return err
		}
	}
	if rec.PowerState == xapi.PowerHalted && interfacesBehind(rec, p.interfaces) { // before it boots: netjob.go
		if err := giveInterfaces(ctx, c, vm, p.interfaces); err != nil {
			return err
		}
		out.Line("gave domU its %s in xenstore %s, which it installs at boot", InterfacesPath, XenstoreInterfaces)
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
		out.Line("removed VIF %s (device %s on %q, from the template or not as the lab wants)", v.UUID, v.Device, inv.Networks[v.Network].NameLabel)
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

// needsStop reports whether a change can be made only on a halted domU.
func needsStop(cs []provision.Change) bool {
	for _, c := range cs {
		if c.How == provision.DomUStopped {
			return true
		}
	}
	return false
}

// stop shuts domU down for the changes that need it halted, cleanly (the
// guest's own shutdown), or hard when the guest does not answer (no PV
// drivers: VM_MISSING_PV_DRIVERS), and says why. Step boot starts it again.
func (d *domu) stop(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, vm xapi.Ref, cs []provision.Change, out provision.Output) error {
	var fields []string
	for _, ch := range cs {
		if ch.How == provision.DomUStopped {
			fields = append(fields, ch.Field+" "+orDash(ch.From)+" -> "+orDash(ch.To))
		}
	}
	out.Line("shutting domU down to change %s (xapi makes these changes only on a halted VM); step boot starts it again",
		strings.Join(fields, ", "))
	var err error
	if st := inv.VMs[vm].PowerState; st != xapi.PowerRunning {
		// A paused or suspended guest cannot shut itself down.
		out.Line("domU is %s: hard shutdown", st)
		err = c.VMHardShutdown(ctx, vm)
	} else if err = c.VMCleanShutdown(ctx, vm); err != nil && ctx.Err() == nil && !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
		out.Line("clean shutdown failed (%v); hard shutdown", err)
		err = c.VMHardShutdown(ctx, vm)
	}
	if err != nil && !xapi.HasCode(err, "VM_BAD_POWER_STATE") {
		return fmt.Errorf("shutting domU down to change it: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// xvdb makes domU's extra disk what domu.xvdb_size says, as devstack's
// install_os_domU.sh did (a "user" VDI in the default SR as device 1,
// xvdb); domU is halted, so the disk is attached when it starts. A disk
// of another size is replaced (its data with it).
func (d *domu) xvdb(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, vm xapi.Ref, out provision.Output) error {
	want := d.lab.DomU.XVDB.Bytes()
	have, size := xvdbDisk(inv, d.lab.Lab, vm)
	if size == want && (have != "") == (want > 0) {
		return nil
	}
	if have != "" {
		if err := c.VDIDestroy(ctx, have); err != nil && !xapi.HasCode(err, "HANDLE_INVALID") {
			return fmt.Errorf("removing domU's xvdb of %s: %w", localrc.Size(size), err)
		}
		out.Line("removed domU's xvdb (%s)", localrc.Size(size))
	}
	if want == 0 {
		return nil
	}
	_, pool, ok := hosts.Only(inv.Pools)
	if !ok || pool.DefaultSR.IsNull() {
		return fmt.Errorf("domu.xvdb_size: the pool has no default SR for the disk")
	}
	vdi, err := c.VDICreate(ctx, xapi.VDISpec{NameLabel: "xvdb-added-by-xenlab", NameDescription: "xenlab lab " + d.lab.Lab + ": domU's xvdb",
		SR: pool.DefaultSR, VirtualSize: want, Type: "user", OtherConfig: tags(d.lab.Lab, RoleXVDB)})
	if err != nil {
		return fmt.Errorf("domu.xvdb_size: creating the disk: %w", err)
	}
	if _, err := c.VBDCreate(ctx, xapi.VBDSpec{VM: vm, VDI: vdi, Userdevice: "1", OtherConfig: tags(d.lab.Lab, RoleXVDB)}); err != nil {
		if derr := c.VDIDestroy(ctx, vdi); derr != nil {
			return fmt.Errorf("domu.xvdb_size: connecting the disk: %w (and removing it: %v)", err, derr)
		}
		return fmt.Errorf("domu.xvdb_size: connecting the disk: %w", err)
	}
	out.Line("xvdb: a %s disk for domU (device 1)", d.lab.DomU.XVDB)
	return nil
}

// cloneTimeout bounds VM.clone and the tagging after it, which an
// interruption does not cut short.
const cloneTimeout = 10 * time.Minute

// clone makes domU from the template, tags it and makes it a VM. The
// clone is made under a name recorded on the host first (clone.go), so
// that whatever a kill leaves between VM.clone and the end is found by
// the next run. Once asked for, the clone is finished even if ctx is
// cancelled meanwhile, and removed if it cannot be finished.
func (d *domu) clone(ctx context.Context, c *xapi.Client, inv *hosts.Snapshot, tpl xapi.Ref) (xapi.Ref, error) {
	tplRec := inv.VMs[tpl]
	tplConfig := tplRec.OtherConfig
	if err := ctx.Err(); err != nil {
		return "", err
	}
	keep, stop := context.WithTimeout(context.WithoutCancel(ctx), cloneTimeout)
	defer stop()
	name := cloneName(d.lab)
	if err := beginClone(keep, c, inv, d.lab.Lab, name); err != nil {
		return "", fmt.Errorf("recording the clone of domU on the host: %w", err)
	}
	vm, err := c.VMClone(keep, tpl, name)
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
		if _, had := tplConfig[TagTemplate]; had {
			err = c.VMRemoveFromOtherConfig(keep, vm, TagTemplate)
		}
		if err == nil {
			err = c.VMAddToOtherConfig(keep, vm, TagTemplate, tplRec.UUID)
		}
	}
	if err == nil {
		err = c.VMSetIsATemplate(keep, vm, false)
	}
	if err == nil {
		err = c.VMSetNameLabel(keep, vm, d.lab.DomU.Name)
	}
	if err != nil {
		if derr := c.VMDestroy(keep, vm); derr != nil {
			// The record stays: the next run removes the clone.
			return "", fmt.Errorf("%w (and removing the half-made clone %s: %v)", err, vm, derr)
		}
	}
	pool, _, _ := hosts.Only(inv.Pools)
	if eerr := endClone(keep, c, pool, d.lab.Lab); err == nil && eerr != nil {
		return "", eerr
	}
	if err != nil {
		return "", err
	}
	return vm, nil
}

// Destroy removes every VM carrying this lab's tag that is not its cached
// template: domU whatever its name now, its snapshots, their disks and
// VIFs.
func (d *domu) Destroy(ctx context.Context, out provision.Output) error {
	if err := settleClone(ctx, d.host, d.lab, false, out); err != nil { // clone.go
		return err
	}
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
		if role == RoleDomU && isDomU(lab.Lab, rec) {
			r = RoleDomU // labview.go: domU whatever a killed run left of its role
		}
		if (role == "" && r == RoleTemplate) || (role != "" && r != role) {
			continue
		}
		n, err := removeVMOf(ctx, c, inv, vm)
		if err != nil {
			return err
		}
		out.Line("destroyed VM %q (%s) and %d disk(s)", rec.NameLabel, rec.UUID, n)
		if err := forgetHostKey(h, lab, rec, out); err != nil { // hostkey.go
			return err
		}
	}
	return nil
}
