package xapid

func init() {
	// host.get_servertime: the host's clock, UTC, as a datetime (xen-api
	// ocaml/xapi/xapi_host.ml get_servertime: Date.of_float (gettimeofday)).
	// xenlab's host lock reads it so that every runner judges a lock's
	// expiry by the same clock.
	register("host.get_servertime", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		c.obj("host", a.str(0, "host"))
		return now()
	}})
	register("host.get_management_interface", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		h := c.obj("host", a.str(0, "host"))
		for _, p := range c.s.db.where("PIF", "host", h.ref) {
			if p.fields["management"] == true {
				return p.ref
			}
		}
		return NullRef
	}})
	// host.compute_free_memory: 16 GiB of host memory minus what running
	// VMs use (memory_static_max), minus dom0's 2 GiB.
	register("host.compute_free_memory", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		h := c.obj("host", a.str(0, "host"))
		return freeMemory(c.s.db, h.ref)
	}})
}

// freeMemory is what host.compute_free_memory answers: 16 GiB of host
// memory minus dom0's 2 GiB and what the VMs resident on the host use
// (memory_static_max); the caller holds the db lock.
func freeMemory(d *db, host string) int64 {
	free := int64(14) << 30
	for _, vm := range d.where("VM", "resident_on", host) {
		if vm.fields["is_control_domain"] != true {
			free -= vm.fields["memory_static_max"].(int64)
		}
	}
	return max(free, 0)
}
