package xapid

import (
	"encoding/json"
	"encoding/xml"
	"maps"
	"sort"
	"strconv"
)

func init() {
	register("VM.clone", handler{arity: 3, fn: func(c *call, a args) any {
		return c.s.cloneVM(c, a.str(0, "vm"), a.str(1, "new_name"), "clone", NullRef)
	}})
	register("VM.copy", handler{arity: 4, fn: func(c *call, a args) any {
		return c.s.cloneVM(c, a.str(0, "vm"), a.str(1, "new_name"), "copy", a.str(2, "sr"))
	}})
	register("VM.snapshot", handler{arity: 3, fn: func(c *call, a args) any {
		return c.s.cloneVM(c, a.str(0, "vm"), a.str(1, "new_name"), "snapshot", NullRef)
	}})
	register("VM.provision", handler{arity: 2, fn: (*call).vmProvision})
	register("VM.destroy", handler{arity: 2, fn: (*call).vmDestroy})
	register("VM.revert", handler{arity: 2, fn: (*call).vmRevert})
}

// vmConfigFields are copied by clone, copy and snapshot, and restored by
// revert.
var vmIdentityFields = map[string]bool{"uuid": true, "name_label": true, "power_state": true, "domid": true,
	"resident_on": true, "guest_metrics": true, "metrics": true, "current_operations": true, "is_a_snapshot": true,
	"snapshot_of": true, "snapshot_time": true, "is_control_domain": true, "parent": true, "suspend_VDI": true}

// cloneVM is VM.clone, VM.copy, VM.snapshot and the record half of
// VM.checkpoint: a new VM record with the source's configuration, its VIFs
// (clone and copy get new MACs from a new mac_seed; a snapshot keeps them)
// and new VDIs with their VBDs. As xapi_vm_clone.ml's clone: the new VM is
// Suspended, with a copy of the source's suspend VDI, when a checkpoint is
// taken of a suspended VM or a suspended VM (or checkpoint) is cloned or
// copied; else it is Halted and has none.
func (s *Server) cloneVM(c *call, ref, name, op, sr string) string {
	d := s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	src := c.obj("VM", ref)
	if op == "copy" {
		// xen-api ocaml/xapi/xapi_vm.ml copy (XS62 line 503, v1.249.0
		// line 716): an SR that does not exist ("", NULL, a stale ref) is
		// "not an error": each disk is copied within its own SR. An ISO SR
		// is refused.
		if o, ok := d.objs[sr]; !ok || o.class != "SR" {
			sr = NullRef
		} else if o.fields["content_type"] == "iso" {
			fail(ErrOperationNotAllowed, "Cannot copy a VM's disks to an ISO SR")
		}
	}
	checkVMOp(src, op)
	rec := vmRecord(name)
	for k, v := range src.fields {
		if !vmIdentityFields[k] {
			rec[k] = copyValue(v)
		}
	}
	oc := cloneMap(src.fields["other_config"].(map[string]string))
	isSnap := op == "snapshot" || op == "checkpoint"
	if susp, ok := d.objs[src.fields["suspend_VDI"].(string)]; ok && op != "snapshot" &&
		src.fields["power_state"] == "Suspended" {
		v := d.insert("VDI", copyVDI(susp, isSnap, sr))
		rec["power_state"] = "Suspended"
		rec["suspend_VDI"] = v.ref
	}
	if isSnap {
		rec["is_a_template"] = true
		rec["is_a_snapshot"] = true
		rec["snapshot_of"] = src.ref
		rec["snapshot_time"] = now()
		// The source's record as it is now, which VM.revert gives back
		// (xapi_vm_clone.ml snapshot_metadata: Helpers.vm_to_string of
		// the VM, XS62 line 174).
		rec["snapshot_metadata"] = encodeMetadata(src.fields)
	} else {
		oc["mac_seed"] = newUUID()
		delete(oc, "default_template")
	}
	rec["other_config"] = oc
	vm := d.insert("VM", rec)
	s.copyDevices(src, vm, isSnap, isSnap, sr, nil)
	return vm.ref
}

// copyVDI returns a new record copying a VDI: a snapshot of it (snapshot
// true), or a clone; sr, if not NullRef, is the copy's SR. The caller
// holds the db lock.
func copyVDI(old *object, snapshot bool, sr string) map[string]any {
	rec := maps.Clone(old.fields)
	for k, v := range rec {
		rec[k] = copyValue(v)
	}
	rec["uuid"] = newUUID()
	rec["location"] = newUUID()
	if snapshot {
		rec["is_a_snapshot"] = true
		rec["snapshot_of"] = old.ref
		rec["snapshot_time"] = now()
	} else {
		rec["is_a_snapshot"] = false
		rec["snapshot_of"] = NullRef
	}
	if sr != NullRef {
		rec["SR"] = sr
	}
	return rec
}

// copyDevices gives dst copies of src's VIFs and disks; the caller holds
// the db lock. revert, if not nil, receives each copied VDI's new copy by
// the original's reference.
func (s *Server) copyDevices(src, dst *object, keepMAC, snapshotDisks bool, sr string, revert map[string]string) {
	d := s.db
	vifs := d.where("VIF", "VM", src.ref)
	sort.Slice(vifs, func(i, j int) bool { return devNum(vifs[i]) < devNum(vifs[j]) })
	for _, v := range vifs {
		mac := ""
		if keepMAC {
			mac = v.fields["MAC"].(string)
		}
		s.createVIF(dst, v.fields["device"].(string), v.fields["network"].(string), mac,
			v.fields["MTU"].(int64), cloneMap(v.fields["other_config"].(map[string]string)),
			v.fields["qos_algorithm_type"].(string), cloneMap(v.fields["qos_algorithm_params"].(map[string]string)),
			v.fields["locking_mode"].(string), v.fields["ipv4_allowed"].([]string), v.fields["ipv6_allowed"].([]string))
	}
	for _, b := range d.where("VBD", "VM", src.ref) {
		vdi := NullRef
		if old, ok := d.objs[b.fields["VDI"].(string)]; ok {
			vdi = d.insert("VDI", copyVDI(old, snapshotDisks, sr)).ref
			if revert != nil {
				revert[old.ref] = vdi
			}
		}
		rec := vbdRecord(dst.ref, vdi, b.fields["userdevice"].(string), b.fields["bootable"].(bool))
		rec["mode"] = b.fields["mode"]
		rec["type"] = b.fields["type"]
		// xapi_vm_clone.ml (CA-58405): the copy owns its disks ("owner" in
		// the VBD's other_config), so xe vm-uninstall destroys them.
		oc := cloneMap(b.fields["other_config"].(map[string]string))
		if vdi != NullRef && b.fields["type"] == "Disk" {
			if _, ok := oc["owner"]; !ok {
				oc["owner"] = ""
			}
		}
		rec["other_config"] = oc
		d.insert("VBD", rec)
	}
}

// vmDestroy removes a halted VM with its VIF and VBD records (not its VDIs).
func (c *call) vmDestroy(a args) any {
	uuid := c.vmDestroyRecords(a)
	// A destroyed VM leaves nothing on the host (its guest's files).
	if r, ok := c.s.host.(GuestRemover); ok {
		c.s.hostMu.Lock()
		err := r.RemoveGuest(c.ctx, uuid)
		c.s.hostMu.Unlock()
		if err != nil {
			c.s.logf("xapid: removing the files of destroyed VM %s: %v", uuid, err)
		}
	}
	return ""
}

// vmDestroyRecords removes the VM's record, its VIFs and VBDs and guest
// metrics, and returns its uuid.
func (c *call) vmDestroyRecords(a args) string {
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	vm := c.obj("VM", a.str(0, "self"))
	checkVMOp(vm, "destroy")
	for _, v := range d.where("VIF", "VM", vm.ref) {
		d.remove(v)
	}
	for _, b := range d.where("VBD", "VM", vm.ref) {
		d.remove(b)
	}
	for _, f := range []string{"guest_metrics", "metrics"} {
		if m, ok := d.objs[vm.fields[f].(string)]; ok {
			d.remove(m)
		}
	}
	uuid, _ := vm.fields["uuid"].(string)
	d.remove(vm)
	return uuid
}

// provisionSpec is the other_config:disks XML of an installer template.
type provisionSpec struct {
	Disks []struct {
		Device   string `xml:"device,attr"`
		Size     string `xml:"size,attr"`
		SR       string `xml:"sr,attr"`
		Bootable string `xml:"bootable,attr"`
		Type     string `xml:"type,attr"`
	} `xml:"disk"`
}

// vmProvision creates the disks a template's other_config:disks asks for,
// in the given SR or the pool's default SR.
func (c *call) vmProvision(a args) any {
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	vm := c.obj("VM", a.str(0, "vm"))
	checkVMOp(vm, "provision")
	// xen-api ocaml/xapi/xapi_vm.ml provision: the VM stops being a
	// template first (xe vm-install relies on it).
	d.set(vm, map[string]any{"is_a_template": false, "is_a_snapshot": false})
	oc := vm.fields["other_config"].(map[string]string)
	spec, ok := oc["disks"]
	if !ok {
		return ""
	}
	var p provisionSpec
	if err := xml.Unmarshal([]byte(spec), &p); err != nil {
		fail(ErrInternalError, "parsing other_config:disks: "+err.Error())
	}
	defaultSR := NullRef
	if pools := d.all("pool"); len(pools) > 0 {
		defaultSR = pools[0].fields["default_SR"].(string)
	}
	for _, disk := range p.Disks {
		sr := defaultSR
		if disk.SR != "" {
			o, err := d.byUUID("SR", disk.SR)
			must(err)
			sr = o.ref
		}
		if _, ok := d.objs[sr]; !ok {
			fail(ErrSRHasNoPBDs, sr)
		}
		size, err := strconv.ParseInt(disk.Size, 10, 64)
		if err != nil {
			fail(ErrInvalidValue, "size", disk.Size)
		}
		vdi := vdiRecord(vm.fields["name_label"].(string)+" "+disk.Device, sr, size)
		if disk.Type != "" {
			vdi["type"] = disk.Type
		}
		v := d.insert("VDI", vdi)
		b := vbdRecord(vm.ref, v.ref, disk.Device, disk.Bootable == "true")
		b["other_config"] = map[string]string{"owner": ""} // xapi_templates.ml pre_install
		d.insert("VBD", b)
	}
	oc = cloneMap(oc)
	delete(oc, "disks")
	d.set(vm, map[string]any{"other_config": oc})
	return ""
}

// vmRevert reverts the VM a snapshot was taken of, as xapi_vm_snapshot.ml's
// revert: a VM that is not halted is hard shut down first (message
// forwarding does that before the revert proper); its configuration
// becomes what it was when the snapshot was taken (revertFields); its disks that the snapshot has a copy of, and
// its suspend VDI, are destroyed; the snapshot's disks are cloned for it
// (and every snapshot of the old disk now names the new one in
// snapshot_of), its VIFs copied with their MACs, a checkpoint's suspend VDI
// cloned; and the VM takes the snapshot's power state: Halted, or
// Suspended after a checkpoint (VM.resume brings it back).
func (c *call) vmRevert(a args) any {
	c.s.hostMu.Lock()
	defer c.s.hostMu.Unlock()
	d := c.s.db
	snapRef := a.str(0, "snapshot")
	var target string
	var h *halting
	c.s.withDB(func() {
		snap := c.obj("VM", snapRef)
		checkVMOp(snap, "revert")
		target = snap.fields["snapshot_of"].(string)
		vm := c.obj("VM", target)
		if vm.fields["power_state"] != "Halted" {
			checkVMOp(vm, "hard_shutdown")
			hh := c.s.prepareHalt(c, vm, "hard_shutdown")
			h = &hh
		}
	})
	if h != nil {
		c.s.finishHalt(c, *h)
	}
	c.s.withDB(func() {
		snap := c.obj("VM", snapRef)
		vm := c.obj("VM", target)
		kv := revertFields(snap)
		kv["parent"] = snap.ref
		// The VM's disks the snapshot holds a copy of go; others are
		// left unattached, as xapi leaves them.
		copied := map[string]bool{}
		for _, b := range d.where("VBD", "VM", snap.ref) {
			if v, ok := d.objs[b.fields["VDI"].(string)]; ok && b.fields["type"] == "Disk" {
				copied[v.fields["snapshot_of"].(string)] = true
			}
		}
		for _, b := range d.where("VBD", "VM", vm.ref) {
			if v, ok := d.objs[b.fields["VDI"].(string)]; ok && b.fields["type"] == "Disk" && copied[v.ref] {
				d.remove(v)
			}
			d.remove(b)
		}
		if v, ok := d.objs[vm.fields["suspend_VDI"].(string)]; ok {
			d.remove(v)
		}
		for _, v := range d.where("VIF", "VM", vm.ref) {
			d.remove(v)
		}
		clones := map[string]string{}
		c.s.copyDevices(snap, vm, true, false, NullRef, clones)
		for snapDisk, clone := range clones {
			old := d.objs[snapDisk].fields["snapshot_of"].(string)
			if old == NullRef {
				continue
			}
			for _, v := range d.where("VDI", "snapshot_of", old) {
				d.set(v, map[string]any{"snapshot_of": clone})
			}
		}
		kv["suspend_VDI"] = NullRef
		kv["power_state"] = "Halted"
		if susp, ok := d.objs[snap.fields["suspend_VDI"].(string)]; ok && snap.fields["power_state"] == "Suspended" {
			kv["suspend_VDI"] = d.insert("VDI", copyVDI(susp, false, NullRef)).ref
			kv["power_state"] = "Suspended"
		}
		d.set(vm, kv)
	})
	return ""
}

// revertDoNotCopy are the fields VM.revert keeps on the VM when it copies
// the snapshot's metadata: xen-api ocaml/xapi/xapi_vm_snapshot.ml
// do_not_copy (XS62 line 340; v26.17.0 adds metrics, VGPUs, VUSBs, VTPMs,
// attached_PCIs, which the simulator keeps too).
var revertDoNotCopy = map[string]bool{"uuid": true, "suspend_VDI": true, "power_state": true, "parent": true,
	"current_operations": true, "allowed_operations": true, "guest_metrics": true, "resident_on": true, "domid": true,
	"protection_policy": true, "scheduled_to_be_resident_on": true, "snapshots": true, "tags": true, "affinity": true,
	"consoles": true, "VBDs": true, "VIFs": true, "metrics": true, "VGPUs": true, "VUSBs": true, "VTPMs": true,
	"attached_PCIs": true}

// revertFields is the configuration VM.revert gives the VM, as
// xapi_vm_snapshot.ml revert_vm_fields: the fields of the VM's record as
// it was when the snapshot was taken (the snapshot's snapshot_metadata,
// "post-MNR"), all but do_not_copy; so the VM gets back its own name,
// other_config and is_a_snapshot = false, not the snapshot's. A snapshot
// without metadata ("pre-MNR") gives its own fields, but for its name and
// its snapshot and template flags (extended_do_not_copy).
func revertFields(snap *object) map[string]any {
	kv := map[string]any{}
	if meta, ok := decodeMetadata(snap.fields["snapshot_metadata"].(string)); ok {
		for k, v := range meta {
			if _, known := snap.fields[k]; known && !revertDoNotCopy[k] {
				kv[k] = v
			}
		}
		return kv
	}
	for k, v := range snap.fields {
		if !vmIdentityFields[k] && k != "is_a_template" {
			kv[k] = copyValue(v)
		}
	}
	kv["is_a_template"] = false
	return kv
}

// encodeMetadata writes a VM's fields into a snapshot's
// snapshot_metadata. xapi writes them as an S-expression of the database
// row (Helpers.vm_to_string); the simulator writes JSON with each field's
// type (as its state file does), which only the simulator reads back.
func encodeMetadata(fields map[string]any) string {
	out := map[string]stateValue{}
	for k, v := range fields {
		if sv, err := toState(v); err == nil {
			out[k] = sv
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	return string(b)
}

// decodeMetadata reads encodeMetadata's string; false when there is none.
func decodeMetadata(s string) (map[string]any, bool) {
	if s == "" {
		return nil, false
	}
	var in map[string]stateValue
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, false
	}
	out := map[string]any{}
	for k, sv := range in {
		if v, err := sv.value(); err == nil {
			out[k] = v
		}
	}
	return out, true
}
