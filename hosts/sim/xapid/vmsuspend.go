package xapid

// VM.suspend, VM.resume and VM.checkpoint, as xapi does them
// (ocaml/xapi/xapi_vm_snapshot.ml checkpoint; xapi_vm_clone.ml for the
// checkpoint's record; xapi_vm_lifecycle.ml for the power states each
// operation needs, in vmops.go). The simulator has no guest memory: a
// suspend stops the guest (Host.StopGuest) and records a suspend VDI the
// size of the VM's memory; a resume boots the guest again with
// Guest.Resumed set, and the host brings back what the guest's memory
// held (hosts/sim: the devstack stand-in's agents' switch state).

func init() {
	register("VM.suspend", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.suspendVM(c, a.str(0, "vm"))
		return ""
	}})
	register("VM.resume", handler{arity: 4, fn: func(c *call, a args) any {
		ref, paused := a.str(0, "vm"), a.bool(1, "start_paused")
		a.bool(2, "force")
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.startVM(c, ref, paused, "resume")
		return ""
	}})
	register("VM.checkpoint", handler{arity: 3, fn: func(c *call, a args) any {
		ref, name := a.str(0, "vm"), a.str(1, "new_name")
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		return c.s.checkpointVM(c, ref, name)
	}})
}

// suspendVM halts a running VM's domain keeping its memory in a new
// suspend VDI (in the VM's suspend_SR, else the pool's suspend_image_SR,
// else its default SR); the VM is left Suspended. The caller holds hostMu.
func (s *Server) suspendVM(c *call, ref string) {
	var h halting
	s.withDB(func() {
		vm := c.obj("VM", ref)
		checkVMOp(vm, "suspend")
		h = s.prepareHalt(c, vm, "suspend")
		h.suspend = true
	})
	s.finishHalt(c, h)
}

// suspendSR is where a VM's suspend image goes; the caller holds the db
// lock.
func (s *Server) suspendSR(vm *object) string {
	if sr, _ := vm.fields["suspend_SR"].(string); s.db.objs[sr] != nil {
		return sr
	}
	for _, p := range s.db.all("pool") {
		for _, f := range []string{"suspend_image_SR", "default_SR"} {
			if sr, _ := p.fields[f].(string); s.db.objs[sr] != nil {
				return sr
			}
		}
	}
	return NullRef
}

// suspendVDIRecord is the VDI that holds a suspended VM's memory: type
// suspend, as big as its memory; the caller holds the db lock.
func (s *Server) suspendVDIRecord(vm *object) map[string]any {
	mem, _ := vm.fields["memory_static_max"].(int64)
	rec := vdiRecord("Suspend image for "+vm.fields["name_label"].(string), s.suspendSR(vm), mem)
	rec["type"] = "suspend"
	return rec
}

// checkpointVM is VM.checkpoint: a running VM is suspended, its disks and
// suspend image snapshotted into a new snapshot VM (power_state Suspended,
// suspend_VDI a snapshot of the VM's), and the VM resumed, with a new
// domid. A suspended VM is snapshotted as it is; a halted or paused one
// gets a halted snapshot (xapi_vm_clone's new_power_state). The caller
// holds hostMu.
func (s *Server) checkpointVM(c *call, ref, name string) string {
	var running bool
	s.withDB(func() {
		vm := c.obj("VM", ref)
		checkVMOp(vm, "checkpoint")
		running = vm.fields["power_state"] == "Running"
	})
	if running {
		s.suspendVM(c, ref)
	}
	var snap string
	func() {
		// xapi resumes the VM whether or not the snapshot succeeded.
		defer func() {
			if running {
				s.startVM(c, ref, false, "resume")
			}
		}()
		snap = s.cloneVM(c, ref, name, "checkpoint", NullRef)
	}()
	return snap
}
