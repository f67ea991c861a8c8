package xapid

import (
	"context"
	"sort"
)

// ErrHostNotDisabled is host.reboot (and host.shutdown) of a host that was
// not disabled first (xen-api 1.9.0 ocaml/xapi/xapi_host.ml,
// shutdown_and_reboot_common).
const ErrHostNotDisabled = "HOST_NOT_DISABLED"

// SwitchResetter is implemented by a Host whose dom0 switch can be
// started again as XenServer's openvswitch init script starts it at boot:
// with --delete-bridges (Open vSwitch v1.11.0
// xenserver/etc_init.d_openvswitch, on the first start after a boot), so
// the switch comes up with no bridge, and no flow, of the boot before.
type SwitchResetter interface {
	DeleteBridges(ctx context.Context) error
}

func init() {
	// host.disable: no VM may start on the host until host.enable (xen-api
	// xapi_host.ml disable; enabled=false).
	register("host.disable", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		h := c.obj("host", a.str(0, "host"))
		c.s.db.set(h, map[string]any{"enabled": false})
		return ""
	}})
	register("host.enable", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		h := c.obj("host", a.str(0, "host"))
		c.s.db.set(h, map[string]any{"enabled": true})
		return ""
	}})
	// host.reboot as XenServer does one (xen-api 1.9.0): refused with
	// HOST_NOT_DISABLED unless host.disable came first; then dom0 goes down,
	// its init scripts shutting down every VM (scripts/init.d-xapi-domains
	// stop: clean, then forced); the host comes back with an Open vSwitch
	// started with --delete-bridges, xapi creating the bridges of its PIFs
	// (and of VIFs as VMs start), every session gone, the host enabled, and
	// scripts/xapi-autostart-vms starting the halted VMs whose other_config
	// has auto_poweron=true when the pool's has it too. Files in dom0 stay.
	// Real xapi answers first and reboots ten seconds later; the simulator
	// reboots, then answers, so that a caller sees the host back when its
	// call returns.
	register("host.reboot", handler{arity: 2, fn: func(c *call, a args) any {
		c.s.hostMu.Lock()
		defer c.s.hostMu.Unlock()
		c.s.rebootHost(c, a.str(0, "host"))
		return ""
	}})
}

// rebootHost is host.reboot's work; the caller holds hostMu.
func (s *Server) rebootHost(c *call, host string) {
	var halts []halting
	s.withDB(func() {
		h := c.obj("host", host)
		if h.fields["enabled"] == true {
			panic(apiErr(ErrHostNotDisabled))
		}
		for _, vm := range s.db.all("VM") {
			if vm.fields["is_control_domain"] == true {
				continue
			}
			if ps := vm.fields["power_state"]; ps == "Running" || ps == "Paused" {
				halts = append(halts, s.prepareHalt(c, vm, "hard_shutdown"))
			}
		}
	})
	for _, h := range halts {
		s.finishHalt(c, h)
	}
	if r, ok := s.host.(SwitchResetter); ok {
		if err := r.DeleteBridges(c.ctx); err != nil {
			s.logf("xapid: host reboot: dom0's switch: %v", err)
		}
	}
	s.rt.attached, s.rt.bridges = map[string]bool{}, map[string]bool{}
	if err := s.bringUpPIFsLocked(); err != nil {
		s.logf("xapid: host reboot: %v", err)
	}
	var autostart []string
	s.withDB(func() {
		for _, o := range s.db.all("session") {
			s.db.remove(o)
		}
		s.rt.eventRegs = map[string]*eventRegistration{}
		h := c.obj("host", host)
		s.db.set(h, map[string]any{"enabled": true})
		pools := s.db.all("pool")
		if len(pools) != 1 || pools[0].fields["other_config"].(map[string]string)["auto_poweron"] != "true" {
			return
		}
		for _, vm := range s.db.all("VM") {
			if vm.fields["is_control_domain"] != true && vm.fields["is_a_template"] != true &&
				vm.fields["power_state"] == "Halted" && vm.fields["other_config"].(map[string]string)["auto_poweron"] == "true" {
				autostart = append(autostart, vm.ref)
			}
		}
	})
	sort.Strings(autostart)
	for _, vm := range autostart {
		s.startVM(c, vm, false, "")
	}
}
