package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/localrc"
)

// StatusReport is what `xenlab status` shows for one host, as the
// walk-through shows it in dom0: the lab's networks with their bridges
// (xe network-list style), dom0's switch for those bridges with the
// placeholder's VLAN-4095 port marked, and domU.
type StatusReport struct {
	Host     string          `json:"host"`
	Networks []StatusNetwork `json:"networks"`
	// Switch is dom0's `ovs-vsctl show`, cut to the lab's bridges.
	Switch []StatusBridge `json:"switch"`
	DomU   *StatusDomU    `json:"domu"` // nil when there is none
	// DomUSwitch is domU's integration bridge as the walk-through reads
	// it; nil when domU is not running or its switch has no such bridge.
	DomUSwitch *StatusDomUSwitch `json:"domu_switch,omitempty"`
	// DomUSwitchError says why domU's switch could not be read.
	DomUSwitchError string `json:"domu_switch_error,omitempty"`
}

// StatusDomUSwitch is domU's integration bridge: the uplink to the
// physical network's bridge as `ovs-ofctl show` has it, the flows that map
// the tenant segment to its local VLAN (`ovs-ofctl dump-flows`, without
// statistics), and the ports that carry a VLAN tag (`ovs-vsctl show`).
type StatusDomUSwitch struct {
	Bridge     string       `json:"bridge"`
	Uplink     string       `json:"uplink"`      // int-br-eth1
	UplinkLine string       `json:"uplink_line"` // "1(int-br-eth1): addr:36:da:99:60:d8:ec"; "" when absent
	Segment    int          `json:"segment"`
	LocalVLAN  string       `json:"local_vlan,omitempty"` // "" when no flow maps the segment
	Flows      []string     `json:"flows"`
	Ports      []StatusPort `json:"ports"`
}

// StatusNetwork is one network of the lab.
type StatusNetwork struct {
	Role      string `json:"role"`
	UUID      string `json:"uuid"`
	NameLabel string `json:"name_label"`
	Bridge    string `json:"bridge"`
	Adopted   bool   `json:"adopted,omitempty"`
}

// StatusBridge is one of the lab's bridges on dom0's switch.
type StatusBridge struct {
	Bridge string       `json:"bridge"`
	Ports  []StatusPort `json:"ports"`
}

// StatusPort is a port of a lab bridge; Placeholder marks the VLAN-4095 one.
type StatusPort struct {
	Name        string `json:"name"`
	Tag         string `json:"tag,omitempty"`
	Placeholder bool   `json:"placeholder,omitempty"`
}

// StatusDomU is domU's state.
type StatusDomU struct {
	NameLabel  string `json:"name_label"`
	UUID       string `json:"uuid"`
	PowerState string `json:"power_state"`
	IP         string `json:"ip,omitempty"`
	Uptime     string `json:"uptime,omitempty"`
}

// Status reads (only reads) the lab's state on one host: the inventory,
// dom0's switch in one command, and domU's in one command over the host's
// connection to domU.
func Status(ctx context.Context, lab *localrc.Config, host *hosts.Host) (*StatusReport, error) {
	v, err := readView(ctx, host, lab)
	if err != nil {
		return nil, err
	}
	rep, err := statusOf(v.inv, lab, host.Name())
	if err != nil {
		return nil, err
	}
	if len(rep.Networks) > 0 {
		dom0, err := host.Dom0(ctx)
		if err != nil {
			return nil, err
		}
		sw, err := readSwitch(ctx, dom0, "")
		if err != nil {
			return nil, err
		}
		rep.setDom0(sw, v.placeholderUUID())
	}
	if rep.DomU != nil && v.domUAddr() != "" {
		if err := rep.readDomU(ctx, host, v); err != nil {
			rep.DomUSwitchError = err.Error()
		}
	}
	return rep, nil
}

// statusOf is the part of a host's status the inventory holds: the lab's
// networks and domU.
func statusOf(inv *hosts.Snapshot, lab *localrc.Config, host string) (*StatusReport, error) {
	rep := &StatusReport{Host: host}
	v := viewOf(inv, lab)
	for _, ln := range labNetworks(lab) {
		ref, adopted, err := v.network(ln.role)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			continue
		}
		n := inv.Networks[ref]
		rep.Networks = append(rep.Networks, StatusNetwork{Role: ln.role, UUID: n.UUID, NameLabel: n.NameLabel, Bridge: n.Bridge, Adopted: adopted})
	}
	if vm, rec, ok := v.domURecord(); ok {
		d := &StatusDomU{NameLabel: rec.NameLabel, UUID: rec.UUID, PowerState: rec.PowerState,
			IP: guestIP(inv, vm, lab.DomU.Devices.Management)}
		if m, ok := inv.VMMetrics[rec.Metrics]; ok && rec.PowerState == "Running" && !m.StartTime.IsZero() {
			d.Uptime = time.Since(m.StartTime).Truncate(time.Second).String()
		}
		rep.DomU = d
	}
	return rep, nil
}

// setDom0 fills in dom0's switch, cut to the lab's bridges, from what
// readSwitch read; placeholder is the placeholder VIF's uuid.
func (r *StatusReport) setDom0(sw ovsSwitch, placeholder string) {
	r.Switch = nil
	for _, n := range r.Networks {
		if !sw.bridges[n.Bridge] {
			continue
		}
		br := StatusBridge{Bridge: n.Bridge}
		for _, p := range sw.on(n.Bridge) {
			br.Ports = append(br.Ports, StatusPort{Name: p.name, Tag: p.tag,
				Placeholder: placeholder != "" && p.xsVIF == placeholder && p.tag == DeadVLAN})
		}
		r.Switch = append(r.Switch, br)
	}
}

// readDomU reads domU's integration bridge in one command, over the
// host's connection to domU.
func (r *StatusReport) readDomU(ctx context.Context, h *hosts.Host, v labView) error {
	g, err := domUConn(ctx, h, v)
	if err != nil {
		return err
	}
	intBr, _, _ := domUBridges(v.lab)
	sw, err := readSwitch(ctx, g, intBr, intBr)
	if err != nil {
		h.DropDomU()
		return err
	}
	r.setDomU(sw, v.lab)
	return nil
}

// setDomU fills in domU's integration bridge from what readSwitch read
// (with its `ovs-ofctl show` and its flows); nothing when domU has no such
// bridge yet.
func (r *StatusReport) setDomU(sw ovsSwitch, lab *localrc.Config) {
	intBr, physBr, _ := domUBridges(lab)
	r.DomUSwitch = nil
	if !sw.bridges[intBr] {
		return
	}
	s := &StatusDomUSwitch{Bridge: intBr, Uplink: "int-" + physBr, Segment: lab.Quantum.VLANs.Min, Flows: []string{}}
	up := sw.ports[s.Uplink]
	for _, l := range sw.show {
		// " 1(int-br-eth1): addr:36:da:99:60:d8:ec"
		if l = strings.TrimSpace(l); up.bridge == intBr && strings.Contains(l, "("+s.Uplink+"):") {
			s.UplinkLine = l
		}
	}
	for _, f := range sw.flows[intBr] {
		if v := vlanMap([]string{f}, up, fmt.Sprint(s.Segment)); v != "" && up.bridge == intBr {
			s.Flows = append(s.Flows, f)
			s.LocalVLAN = v
		}
	}
	for _, p := range sw.on(intBr) {
		if p.tag != "" {
			s.Ports = append(s.Ports, StatusPort{Name: p.name, Tag: p.tag})
		}
	}
	r.DomUSwitch = s
}
