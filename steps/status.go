package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
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

// Status reads (only reads) the lab's state on one host.
func Status(ctx context.Context, lab *localrc.Config, host *hosts.Host) (*StatusReport, error) {
	inv, err := host.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{Host: host.Name()}
	for _, ln := range labNetworks(lab) {
		ref, adopted, err := findNetwork(inv, lab, ln.role, ln.name)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			continue
		}
		n := inv.Networks[ref]
		rep.Networks = append(rep.Networks, StatusNetwork{Role: ln.role, UUID: n.UUID, NameLabel: n.NameLabel, Bridge: n.Bridge, Adopted: adopted})
	}
	if vm := findDomU(inv, lab.Lab); vm != "" {
		rec := inv.VMs[vm]
		d := &StatusDomU{NameLabel: rec.NameLabel, UUID: rec.UUID, PowerState: rec.PowerState,
			IP: guestIP(inv, vm, lab.DomU.Devices.Management)}
		if m, ok := inv.VMMetrics[rec.Metrics]; ok && rec.PowerState == "Running" && !m.StartTime.IsZero() {
			d.Uptime = time.Since(m.StartTime).Truncate(time.Second).String()
		}
		rep.DomU = d
	}
	if rep.DomU != nil && rep.DomU.PowerState == "Running" {
		a := &agents{host: host, lab: lab}
		if addr := a.domUAddr(inv); addr != "" {
			sw, err := domUSwitch(ctx, a, addr)
			if err != nil {
				rep.DomUSwitchError = err.Error()
			}
			rep.DomUSwitch = sw
		}
	}
	if len(rep.Networks) == 0 {
		return rep, nil
	}
	dom0, err := host.Dom0(ctx)
	if err != nil {
		return nil, err
	}
	var placeholderUUID string
	if _, v, ok := placeholderVIF(inv, lab.Lab); ok {
		placeholderUUID = v.UUID
	}
	for _, n := range rep.Networks {
		q := ssh.ShellQuote(n.Bridge)
		cmd := "ovs-vsctl br-exists " + q + " || exit 0; for p in $(ovs-vsctl list-ports " + q + "); do " +
			`echo "$p $(ovs-vsctl get Port $p tag) $(ovs-vsctl --if-exists get Interface $p external_ids:xs-vif-uuid)"; done`
		res, err := dom0.Run(ctx, cmd, ssh.Idempotent())
		if err != nil {
			return nil, err
		}
		br := StatusBridge{Bridge: n.Bridge}
		for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			p := StatusPort{Name: f[0], Tag: strings.Trim(f[1], "[]")}
			p.Placeholder = len(f) > 2 && strings.Trim(f[2], `"`) == placeholderUUID && p.Tag == DeadVLAN
			br.Ports = append(br.Ports, p)
		}
		rep.Switch = append(rep.Switch, br)
	}
	return rep, nil
}

// domUSwitch reads domU's integration bridge, in one command.
func domUSwitch(ctx context.Context, a *agents, addr string) (*StatusDomUSwitch, error) {
	g, err := a.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer a.hangUp()
	du := a.lab.Quantum.DomUAgent
	intBr, physBr := du.IntegrationBridge, du.PhysicalBridge
	if intBr == "" {
		intBr = "br-int"
	}
	if physBr == "" {
		physBr = "br-eth1"
	}
	q := ssh.ShellQuote(intBr)
	cmd := "ovs-vsctl br-exists " + q + " || exit 0; set -e; echo =show; ovs-ofctl show " + q +
		"; echo =flows; ovs-ofctl dump-flows --no-stats " + q +
		"; echo =ports; for p in $(ovs-vsctl list-ports " + q + `); do echo "$p $(ovs-vsctl get Port "$p" tag)"; done`
	res, err := g.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return nil, fmt.Errorf("domU: reading %s: %w: %s", intBr, err, strings.TrimSpace(string(res.Stderr)))
	}
	if len(res.Stdout) == 0 {
		return nil, nil // no integration bridge yet (step agents)
	}
	sw := &StatusDomUSwitch{Bridge: intBr, Uplink: "int-" + physBr, Segment: a.lab.Quantum.VLANs.Min, Flows: []string{}}
	section, ofport := "", ""
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "="):
			section = l[1:]
		case l == "":
		case section == "show":
			// " 1(int-br-eth1): addr:36:da:99:60:d8:ec"
			if n, rest, ok := strings.Cut(l, "("+sw.Uplink+"):"); ok && rest != "" {
				sw.UplinkLine, ofport = l, n
			}
		case section == "flows":
			if ofport != "" && vlanMap([]string{l}, ovsPort{name: sw.Uplink, ofport: ofport}, fmt.Sprint(sw.Segment)) != "" {
				sw.Flows = append(sw.Flows, l)
				sw.LocalVLAN = vlanMap([]string{l}, ovsPort{name: sw.Uplink, ofport: ofport}, fmt.Sprint(sw.Segment))
			}
		case section == "ports":
			if f := strings.Fields(l); len(f) == 2 && f[1] != "[]" {
				sw.Ports = append(sw.Ports, StatusPort{Name: f[0], Tag: f[1]})
			}
		}
	}
	return sw, nil
}
