package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// WriteText prints the report as the walk-through shows dom0.
func (r *StatusReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s\n\n# xe network-list (the lab's networks)\n", r.Host)
	for _, n := range r.Networks {
		fmt.Fprintf(&b, "uuid ( RO)         : %s\n          name-label ( RW): %s\n              bridge ( RO): %s\n", n.UUID, n.NameLabel, n.Bridge)
		if n.Adopted {
			fmt.Fprintf(&b, "             (adopted, not the lab's)\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("# ovs-vsctl show (the lab's bridges)\n")
	for _, br := range r.Switch {
		fmt.Fprintf(&b, "    Bridge %q\n", br.Bridge)
		for _, p := range br.Ports {
			fmt.Fprintf(&b, "        Port %q\n", p.Name)
			if p.Tag != "" {
				fmt.Fprintf(&b, "            tag: %s", p.Tag)
				if p.Placeholder {
					b.WriteString("    <- placeholder: forces the bridge into existence, carries nothing")
				}
				b.WriteString("\n")
			}
		}
	}
	if r.DomU == nil {
		b.WriteString("\ndomU: none\n")
	} else {
		fmt.Fprintf(&b, "\ndomU %q (%s): %s", r.DomU.NameLabel, r.DomU.UUID, r.DomU.PowerState)
		if r.DomU.IP != "" {
			fmt.Fprintf(&b, ", IP %s", r.DomU.IP)
		}
		if r.DomU.Uptime != "" {
			fmt.Fprintf(&b, ", up %s", r.DomU.Uptime)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one JSON document.
func (r *StatusReport) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}
