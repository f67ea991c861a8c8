package xapid

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("VM.start", handler{arity: 4, fn: func(c *call, a args) any {
		ref, paused := a.str(0, "vm"), a.bool(1, "start_paused")
		a.bool(2, "force")
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.startVM(c, ref, paused, "start")
		return ""
	}})
	register("VM.start_on", handler{arity: 5, fn: func(c *call, a args) any {
		ref, host, paused := a.str(0, "vm"), a.str(1, "host"), a.bool(2, "start_paused")
		a.bool(3, "force")
		c.s.withDB(func() { c.obj("host", host) }) // HANDLE_INVALID must not keep the lock
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.startVM(c, ref, paused, "start_on")
		return ""
	}})
	for _, op := range []string{"clean_shutdown", "hard_shutdown"} {
		register("VM."+op, handler{arity: 2, fn: func(c *call, a args) any {
			c.s.hostMu.Lock()
			defer c.s.hostMu.Unlock()
			c.s.stopVM(c, a.str(0, "vm"), op)
			return ""
		}})
	}
	register("VM.shutdown", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.stopVM(c, a.str(0, "vm"), "clean_shutdown")
		return ""
	}})
	for _, op := range []string{"clean_reboot", "hard_reboot"} {
		register("VM."+op, handler{arity: 2, fn: func(c *call, a args) any {
			c.s.hostMu.Lock()
			defer c.s.hostMu.Unlock()
			ref := a.str(0, "vm")
			c.s.stopVM(c, ref, op)
			c.s.startVM(c, ref, false, "") // a reboot is a new domain: new domid, ports re-added
			return ""
		}})
	}
	register("VM.pause", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		vm := c.obj("VM", a.str(0, "vm"))
		checkVMOp(vm, "pause")
		c.s.db.set(vm, map[string]any{"power_state": "Paused"})
		return ""
	}})
	register("VM.unpause", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		vm := c.obj("VM", a.str(0, "vm"))
		checkVMOp(vm, "unpause")
		c.s.db.set(vm, map[string]any{"power_state": "Running"})
		if vm.fields["guest_metrics"] == NullRef {
			c.s.bootGuest(c.s.guestOf(vm))
		}
		return ""
	}})
}

// startVM makes a halted VM run (or paused): a new domid, its VIFs plugged
// (ports vif<domid>.<device>, bridges created as needed), then, after the
// call returns, the guest boots and reports its IP in guest metrics. op ""
// skips the operation check (the second half of a reboot). The caller
// holds hostMu.
func (s *Server) startVM(c *call, ref string, paused bool, op string) {
	d := s.db
	var (
		vifs  []*object
		ports []vifPort
		domid int64
		key   = c.opKey()
	)
	s.withDB(func() {
		vm := c.obj("VM", ref)
		if op != "" {
			checkVMOp(vm, op)
		}
		// xapi_vm_helpers.assert_enough_memory_available: the VM's memory
		// must fit in what the host has free.
		if need, free := vm.fields["memory_static_max"].(int64), freeMemory(d, s.hostR); need > free {
			fail(ErrHostNotEnoughFreeMemory, strconv.FormatInt(need, 10), strconv.FormatInt(free, 10))
		}
		domid = s.rt.nextDom
		s.rt.nextDom++
		vifs = d.where("VIF", "VM", ref)
		sort.Slice(vifs, func(i, j int) bool { return devNum(vifs[i]) < devNum(vifs[j]) })
		for _, v := range vifs {
			ports = append(ports, s.vifPortOf(v, domid))
		}
		if op != "" {
			s.markOp(vm, key, op)
		}
	})

	var plugged []vifPort
	for _, p := range ports {
		if err := s.plugPort(c.ctx, p); err != nil {
			for _, q := range plugged {
				s.unplugPort(c.ctx, q)
			}
			s.releaseBridge(c.ctx, p.network) // it may have been created for this VIF
			s.withDB(func() { s.clearOp(ref, key) })
			failPlug("starting VM", err)
		}
		plugged = append(plugged, p)
	}

	s.withDB(func() {
		s.clearOp(ref, key)
		vm, ok := d.objs[ref]
		if !ok {
			return
		}
		state := "Running"
		if paused {
			state = "Paused"
		}
		d.set(vm, map[string]any{"power_state": state, "domid": domid, "resident_on": s.hostR})
		if old, ok := d.objs[vm.fields["metrics"].(string)]; ok {
			d.remove(old)
		}
		vcpus, _ := vm.fields["VCPUs_at_startup"].(int64)
		mem, _ := vm.fields["memory_dynamic_max"].(int64)
		m := d.insert("VM_metrics", vmMetricsRecord(vcpus, mem))
		d.set(vm, map[string]any{"metrics": m.ref})
		for _, v := range vifs {
			if _, ok := d.objs[v.ref]; ok {
				d.set(v, map[string]any{"currently_attached": true})
			}
		}
		for _, b := range d.where("VBD", "VM", ref) {
			d.set(b, map[string]any{"currently_attached": true})
		}
		var image string
		if op == "resume" {
			// The suspend image is read back and destroyed
			// (Xapi_xenops.resume).
			if v, ok := d.objs[vm.fields["suspend_VDI"].(string)]; ok {
				image, _ = v.fields["uuid"].(string)
				d.remove(v)
			}
			d.set(vm, map[string]any{"suspend_VDI": NullRef})
		}
		if inst, ok := s.installerOf(vm); ok && !paused && op != "resume" {
			s.runInstaller(inst) // eliloader boots the installer, not the disk
		} else if !paused {
			g := s.guestOf(vm)
			g.Resumed = op == "resume"
			g.SuspendVDI = image
			s.bootGuest(g)
		}
	})
}

// withDB runs f holding the db lock, releasing it even if f aborts the call.
func (s *Server) withDB(f func()) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	f()
}

func devNum(v *object) int64 {
	n, _ := strconv.ParseInt(v.fields["device"].(string), 0, 64)
	return n
}

// guestOf describes a running VM for Host.BootGuest; the caller holds the
// db lock.
func (s *Server) guestOf(vm *object) Guest {
	g := Guest{UUID: vm.fields["uuid"].(string), NameLabel: vm.fields["name_label"].(string),
		DomID: vm.fields["domid"].(int64), PVArgs: vm.fields["PV_args"].(string),
		OtherConfig: cloneMap(vm.fields["other_config"].(map[string]string)), VMData: map[string]string{}}
	vbds := s.db.where("VBD", "VM", vm.ref)
	sort.Slice(vbds, func(i, j int) bool {
		return vbds[i].fields["userdevice"].(string) < vbds[j].fields["userdevice"].(string)
	})
	for _, b := range vbds {
		vdi, ok := s.db.objs[b.fields["VDI"].(string)]
		if !ok || b.fields["type"] != "Disk" {
			continue
		}
		if b.fields["bootable"] == true {
			g.DiskInterfaces = vdi.fields["other_config"].(map[string]string)[InterfacesKey]
		}
		g.Disks = append(g.Disks, GuestDisk{Userdevice: b.fields["userdevice"].(string), Size: vdi.fields["virtual_size"].(int64)})
	}
	for k, v := range vm.fields["xenstore_data"].(map[string]string) {
		if strings.HasPrefix(k, "vm-data/") || k == "vm-data" {
			g.VMData[k] = v
		}
	}
	vifs := s.db.where("VIF", "VM", vm.ref)
	sort.Slice(vifs, func(i, j int) bool { return devNum(vifs[i]) < devNum(vifs[j]) })
	for _, v := range vifs {
		p := s.vifPortOf(v, g.DomID)
		g.VIFs = append(g.VIFs, GuestVIF{Device: p.device, MAC: p.mac, Bridge: p.bridge,
			NetworkUUID: p.netUUID, NetworkName: p.netName})
	}
	return g
}

// bootGuest boots the guest in the background: Host.BootGuest, then the
// guest metrics with networks {"0/ip": ip}, unless the VM stopped meanwhile
// (then the guest is stopped again) or restarted (a newer boot wins).
func (s *Server) bootGuest(g Guest) {
	s.goBackground(func() {
		if d := s.opts.GuestMetricsDelay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
		}
		ip, err := s.host.BootGuest(s.ctx, g)
		if err != nil {
			s.logf("xapid: booting guest %s (%s): %v", g.NameLabel, g.UUID, err)
			return
		}
		nets := map[string]string{}
		if ip != "" {
			nets["0/ip"] = ip
		}
		if gn, ok := s.host.(GuestNetworker); ok {
			nets = gn.GuestNetworks(g.UUID)
		}
		stale := false
		s.withDB(func() {
			vm, err := s.db.byUUID("VM", g.UUID)
			if err != nil || vm.fields["domid"] != g.DomID {
				// Halted, suspended or destroyed meanwhile: stop this guest. Restarted
				// (a new domid): the newer boot owns the guest.
				stale = err != nil || vm.fields["power_state"] == "Halted" || vm.fields["power_state"] == "Suspended"
				return
			}

			if old, ok := s.db.objs[vm.fields["guest_metrics"].(string)]; ok {
				s.db.remove(old)
			}
			gm := s.db.insert("VM_guest_metrics", guestMetricsRecord(nets))
			s.db.set(vm, map[string]any{"guest_metrics": gm.ref})
		})
		if stale {
			if err := s.host.StopGuest(s.ctx, g.UUID); err != nil {
				s.logf("xapid: stopping stale guest %s: %v", g.UUID, err)
			}
		}
	})
}

// stopVM halts a VM: the guest is stopped, its VIF ports removed, bridges
// nobody uses removed, guest metrics destroyed. The caller holds hostMu.
func (s *Server) stopVM(c *call, ref, op string) {
	var h halting
	s.withDB(func() {
		vm := c.obj("VM", ref)
		checkVMOp(vm, op)
		h = s.prepareHalt(c, vm, op)
	})
	s.finishHalt(c, h)
}

// halting is what finishHalt needs from the db.
type halting struct {
	ref, uuid, key string
	ports          []vifPort
	suspend        bool // VM.suspend: left Suspended, with a suspend VDI
}

// prepareHalt marks the operation and collects the plugged ports; the
// caller holds the db lock.
func (s *Server) prepareHalt(c *call, vm *object, op string) halting {
	h := halting{ref: vm.ref, uuid: vm.fields["uuid"].(string), key: c.opKey()}
	domid := vm.fields["domid"].(int64)
	for _, v := range s.db.where("VIF", "VM", vm.ref) {
		if v.fields["currently_attached"] == true {
			h.ports = append(h.ports, s.vifPortOf(v, domid))
		}
	}
	s.markOp(vm, h.key, op)
	return h
}

// finishHalt does the host side of a halt and records it; the caller
// holds hostMu and not the db lock.
func (s *Server) finishHalt(c *call, h halting) {
	d := s.db
	suspender, keeps := s.host.(GuestSuspender)
	keeps = keeps && h.suspend
	var image string // the suspend VDI's uuid, for the GuestSuspender
	if keeps {
		defer func() {
			if image == "" {
				return
			}
			if err := suspender.SuspendGuest(c.ctx, h.uuid, image); err != nil {
				s.logf("xapid: suspending guest %s: %v", h.uuid, err)
			}
		}()
	} else if err := s.host.StopGuest(c.ctx, h.uuid); err != nil {
		s.logf("xapid: stopping guest %s: %v", h.uuid, err)
	}
	parker, parks := s.host.(PortParker)
	parks = parks && keeps
	for _, p := range h.ports {
		remove := s.host.RemovePort
		if parks {
			remove = func(ctx context.Context, bridge, port string) error {
				return parker.ParkPort(ctx, bridge, port, h.uuid)
			}
		}
		if err := remove(c.ctx, p.bridge, p.port()); err != nil {
			s.logf("xapid: removing port %s from %s: %v", p.port(), p.bridge, err)
		}
	}
	s.withDB(func() {
		s.clearOp(h.ref, h.key)
		vm, ok := d.objs[h.ref]
		if !ok {
			return
		}
		for _, f := range []string{"guest_metrics", "metrics"} {
			if m, ok := d.objs[vm.fields[f].(string)]; ok {
				d.remove(m)
			}
		}
		kv := map[string]any{"power_state": "Halted", "domid": int64(-1), "resident_on": NullRef,
			"guest_metrics": NullRef, "metrics": NullRef}
		if h.suspend {
			kv["power_state"] = "Suspended"
			vdi := d.insert("VDI", s.suspendVDIRecord(vm))
			kv["suspend_VDI"] = vdi.ref
			image, _ = vdi.fields["uuid"].(string)
		} else if v, ok := d.objs[vm.fields["suspend_VDI"].(string)]; ok {
			// A suspended VM shut down loses its suspend image
			// (xapi_vm_lifecycle force_state_reset to Halted).
			d.remove(v)
			kv["suspend_VDI"] = NullRef
		}
		d.set(vm, kv)
		for _, v := range d.where("VIF", "VM", h.ref) {
			d.set(v, map[string]any{"currently_attached": false})
		}
		for _, b := range d.where("VBD", "VM", h.ref) {
			d.set(b, map[string]any{"currently_attached": false})
		}
	})
	seen := map[string]bool{}
	for _, p := range h.ports {
		if !seen[p.network] {
			seen[p.network] = true
			s.releaseBridge(c.ctx, p.network)
		}
	}
}
