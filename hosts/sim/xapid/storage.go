package xapid

func init() {
	// VDI.destroy refuses a disk attached to a running VM (VDI_IN_USE [vdi,
	// "destroy"]) and removes the VBD records that point at it.
	register("VDI.destroy", handler{arity: 2, fn: func(c *call, a args) any {
		d := c.s.db
		d.mu.Lock()
		defer d.mu.Unlock()
		vdi := c.obj("VDI", a.str(0, "self"))
		vbds := d.where("VBD", "VDI", vdi.ref)
		for _, b := range vbds {
			if b.fields["currently_attached"] == true {
				fail(ErrVDIInUse, vdi.ref, "destroy")
			}
		}
		for _, b := range vbds {
			d.remove(b)
		}
		d.remove(vdi)
		return ""
	}})
	// task.cancel: the simulator's tasks are not cancellable (their
	// allowed_operations are empty), which xapi reports this way.
	register("task.cancel", handler{arity: 2, noAsync: true, fn: func(c *call, a args) any {
		c.s.withDB(func() { c.obj("task", a.str(0, "task")) })
		fail(ErrOperationNotAllowed, "task cannot be cancelled")
		return ""
	}})
}
