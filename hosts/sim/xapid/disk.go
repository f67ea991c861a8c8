package xapid

import (
	"strconv"
)

// VDI.create and VBD.create, as devstack's install_os_domU.sh used them
// (`xe vdi-create ... virtual-size=${XEN_XVDB_SIZE_GB}GiB type=user`,
// `xe vbd-create vm-uuid=... vdi-uuid=... device=1`) to give domU its extra
// disk. Read from xen-api's ocaml/xapi/xapi_vbd.ml (create: the VDI's type
// must be one a VBD takes, a Disk is never empty, RW on a read-only VDI is
// refused, the userdevice must be valid and unused, and the new VBD is not
// attached unless the VM is suspended) and xapi_vdi.ml / datamodel
// (VDI.create(record) returns the new disk's ref).

// vbdTypes are the VDI types VBD.create accepts (xapi_vbd.ml).
var vbdTypes = map[string]bool{"system": true, "user": true, "ephemeral": true, "suspend": true,
	"crashdump": true, "metadata": true, "rrd": true, "pvs_cache": true}

// vdiTypes are the VDI types VDI.create accepts.
var vdiTypes = map[string]bool{"system": true, "user": true, "ephemeral": true, "suspend": true,
	"crashdump": true, "ha_statefile": true, "metadata": true, "redo_log": true, "rrd": true, "pvs_cache": true}

func init() {
	register("VDI.create", handler{arity: 2, fn: func(c *call, a args) any {
		r := recordArg(a.record(0, "args"))
		name := r.str("name_label", "")
		desc := r.str("name_description", "")
		sr := r.reqStr("SR")
		size := r.int("virtual_size", 0)
		typ := r.str("type", "user")
		oc := r.strMap("other_config")
		readOnly := r.bool("read_only", false)
		sharable := r.bool("sharable", false)
		d := c.s.db
		d.mu.Lock()
		defer d.mu.Unlock()
		c.obj("SR", sr)
		if !vdiTypes[typ] {
			fail(ErrInvalidValue, "type", typ)
		}
		if size < 0 {
			fail(ErrInvalidValue, "virtual_size", strconv.FormatInt(size, 10))
		}
		rec := vdiRecord(name, sr, size)
		rec["name_description"] = desc
		rec["type"] = typ
		rec["other_config"] = oc
		rec["read_only"] = readOnly
		rec["sharable"] = sharable
		rec["physical_utilisation"] = int64(0) // a new disk holds nothing yet
		return d.insert("VDI", rec).ref
	}})
	register("VBD.create", handler{arity: 2, fn: func(c *call, a args) any {
		r := recordArg(a.record(0, "args"))
		vmRef := r.reqStr("VM")
		vdiRef := r.str("VDI", NullRef)
		userdevice := r.reqStr("userdevice")
		bootable := r.bool("bootable", false)
		mode := r.str("mode", "RW")
		typ := r.str("type", "Disk")
		empty := r.bool("empty", false)
		oc := r.strMap("other_config")
		d := c.s.db
		d.mu.Lock()
		defer d.mu.Unlock()
		vm := c.obj("VM", vmRef)
		if !empty {
			vdi := c.obj("VDI", vdiRef)
			if t := vdi.fields["type"].(string); !vbdTypes[t] {
				fail("VDI_INCOMPATIBLE_TYPE", vdi.ref, t)
			}
			if mode == "RW" && vdi.fields["read_only"] == true {
				fail("VDI_READONLY", vdi.ref)
			}
		}
		if typ == "CD" && mode != "RO" {
			fail("VBD_CDS_MUST_BE_READONLY")
		}
		if typ != "CD" && empty {
			fail("VBD_NOT_REMOVABLE_MEDIA", "in constructor")
		}
		if userdevice == "autodetect" {
			for n := 0; ; n++ {
				if !vbdDeviceUsed(d, vm.ref, strconv.Itoa(n)) {
					userdevice = strconv.Itoa(n)
					break
				}
			}
		}
		if n, err := strconv.Atoi(userdevice); err != nil || n < 0 || n > 15 {
			fail(ErrInvalidDevice, userdevice)
		}
		if vbdDeviceUsed(d, vm.ref, userdevice) {
			fail(ErrDeviceAlreadyExists, userdevice)
		}
		if empty {
			vdiRef = NullRef
		}
		rec := vbdRecord(vm.ref, vdiRef, userdevice, bootable)
		rec["mode"] = mode
		rec["type"] = typ
		rec["empty"] = empty
		rec["other_config"] = oc
		// Only a suspended VM's new VBD counts as attached (xapi_vbd.ml);
		// a running VM's waits for VBD.plug, a halted VM's for its start.
		return d.insert("VBD", rec).ref
	}})
}

// vbdDeviceUsed reports whether vm has a VBD on userdevice; the caller
// holds the db lock.
func vbdDeviceUsed(d *db, vm, userdevice string) bool {
	for _, b := range d.where("VBD", "VM", vm) {
		if b.fields["userdevice"] == userdevice {
			return true
		}
	}
	return false
}
