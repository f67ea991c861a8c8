package xapid

import (
	"regexp"
	"strconv"
)

// VDI.create, VBD.create and VBD.destroy as xen-api's xapi_vdi.ml and
// xapi_vbd.ml (tag XS62) check them; a VDI has no data behind it and a
// VBD is a record only (no VBD.plug: dom0 cannot attach disks here).
// devstack's install_os_domU.sh used them to give domU its extra disk
// (`xe vdi-create ... virtual-size=${XEN_XVDB_SIZE_GB}GiB type=user`,
// `xe vbd-create vm-uuid=... vdi-uuid=... device=1`); xapi_vbd.ml's
// create: the VDI's type must be one a VBD takes, a Disk is never empty,
// RW on a read-only VDI is refused, the userdevice must be valid and
// unused, and the new VBD is not attached unless the VM is suspended.

func init() {
	register("VDI.create", handler{arity: 2, fn: (*call).vdiCreate})
	register("VBD.create", handler{arity: 2, fn: (*call).vbdCreate})
	register("VBD.destroy", handler{arity: 2, fn: (*call).vbdDestroy})
}

// vdiTypes are the VDI types VDI.create accepts.
var vdiTypes = []string{"system", "user", "ephemeral", "suspend", "crashdump", "ha_statefile", "metadata", "redo_log"}

// vbdTypes are the VDI types VBD.create accepts (xapi_vbd.ml).
var vbdTypes = []string{"system", "user", "ephemeral", "suspend", "crashdump", "metadata"}

func (c *call) vdiCreate(a args) any {
	r := recordArg(a.record(0, "args"))
	name := r.str("name_label", "")
	desc := r.str("name_description", "")
	srRef := r.reqStr("SR")
	size := r.int("virtual_size", 0)
	typ := r.str("type", "user")
	if !contains(vdiTypes, typ) {
		fail(ErrInvalidValue, "type", typ)
	}
	if size < 0 {
		fail(ErrInvalidValue, "virtual_size", strconv.FormatInt(size, 10))
	}
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	c.obj("SR", srRef)
	rec := vdiRecord(name, srRef, size)
	rec["name_description"] = desc
	rec["type"] = typ
	rec["sharable"] = r.bool("sharable", false)
	rec["read_only"] = r.bool("read_only", false)
	rec["other_config"] = r.strMap("other_config")
	rec["xenstore_data"] = r.strMap("xenstore_data")
	rec["sm_config"] = r.strMap("sm_config")
	rec["tags"] = r.strSet("tags")
	rec["physical_utilisation"] = int64(0) // a new disk holds nothing yet
	return d.insert("VDI", rec).ref
}

// validVBDDevice is xapi_vbd_helpers' valid_device: "autodetect", a disk
// number, or a device name (xvda, hdb, sdc...).
var vbdDeviceName = regexp.MustCompile(`^(xvd|hd|sd)[a-z]+[0-9]*$`)

func validVBDDevice(dev string) bool {
	if dev == "autodetect" || vbdDeviceName.MatchString(dev) {
		return true
	}
	_, err := strconv.ParseUint(dev, 10, 16)
	return err == nil
}

func (c *call) vbdCreate(a args) any {
	r := recordArg(a.record(0, "args"))
	vmRef := r.reqStr("VM")
	vdiRef := r.str("VDI", NullRef)
	userdevice := r.reqStr("userdevice")
	mode := r.str("mode", "RW")
	typ := r.str("type", "Disk")
	empty := r.bool("empty", false)
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	vm := c.obj("VM", vmRef)
	var vdi *object
	if !empty {
		vdi = c.obj("VDI", vdiRef)
		if t, _ := vdi.fields["type"].(string); !contains(vbdTypes, t) {
			fail("VDI_INCOMPATIBLE_TYPE", vdi.ref, t)
		}
	}
	if typ == "CD" && mode != "RO" {
		fail("VBD_CDS_MUST_BE_READONLY")
	}
	if typ != "CD" && empty {
		fail("VBD_NOT_REMOVABLE_MEDIA", "in constructor")
	}
	if vdi != nil && mode == "RW" && vdi.fields["read_only"] == true {
		fail("VDI_READONLY", vdi.ref)
	}
	if !validVBDDevice(userdevice) {
		fail(ErrInvalidDevice, userdevice)
	}
	if userdevice == "autodetect" {
		used := map[string]bool{}
		for _, b := range d.where("VBD", "VM", vm.ref) {
			used[b.fields["userdevice"].(string)] = true
		}
		for n := 0; ; n++ {
			if !used[strconv.Itoa(n)] {
				userdevice = strconv.Itoa(n)
				break
			}
		}
	}
	for _, b := range d.where("VBD", "VM", vm.ref) {
		if b.fields["userdevice"] == userdevice {
			fail(ErrDeviceAlreadyExists, userdevice)
		}
	}
	if vdi == nil {
		vdiRef = NullRef
	}
	rec := vbdRecord(vm.ref, vdiRef, userdevice, r.bool("bootable", false))
	rec["mode"] = mode
	rec["type"] = typ
	rec["empty"] = empty
	rec["unpluggable"] = r.bool("unpluggable", true)
	rec["other_config"] = r.strMap("other_config")
	rec["qos_algorithm_type"] = r.str("qos_algorithm_type", "")
	rec["qos_algorithm_params"] = r.strMap("qos_algorithm_params")
	return d.insert("VBD", rec).ref
}

// vbdDestroy refuses an attached VBD: OPERATION_NOT_ALLOWED
// ["VBD '<uuid>' still attached to '<vm uuid>'"].
func (c *call) vbdDestroy(a args) any {
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	b := c.obj("VBD", a.str(0, "self"))
	if b.fields["currently_attached"] == true {
		vmUUID := ""
		if vm, ok := d.objs[b.fields["VM"].(string)]; ok {
			vmUUID = vm.fields["uuid"].(string)
		}
		fail(ErrOperationNotAllowed, "VBD '"+b.fields["uuid"].(string)+"' still attached to '"+vmUUID+"'")
	}
	d.remove(b)
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
