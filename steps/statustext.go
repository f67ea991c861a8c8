package steps

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// TextStyle is how WriteText draws the report.
type TextStyle int

const (
	// Plain is for pipes and files: no escape sequences.
	Plain TextStyle = iota
	// TTY is for a terminal: headings in bold, and the lines the
	// walk-through points at (the 4095 tag, the int-br-eth1 port, the
	// segment's flow, the local VLAN's tags) in green.
	TTY
)

// painter applies a style's escape sequences.
type painter TextStyle

func (p painter) heading(s string) string { return p.wrap("\x1b[1m", s) }
func (p painter) mark(s string) string    { return p.wrap("\x1b[32m", s) }

func (p painter) wrap(esc, s string) string {
	if TextStyle(p) != TTY {
		return s
	}
	return esc + s + "\x1b[0m"
}

// WriteText prints the report as the walk-through shows the lab: dom0's
// networks (xe network-list) and bridges (ovs-vsctl show) with the
// placeholder's port on VLAN 4095, domU, and domU's integration bridge:
// its int-br-eth1 port line (ovs-ofctl show br-int), the flow that maps
// the segment to the local VLAN (ovs-ofctl dump-flows br-int) and the
// ports on that local VLAN.
func (r *StatusReport) WriteText(w io.Writer, style TextStyle) error {
	p := painter(style)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", p.heading("host "+r.Host), p.heading("# dom0: xe network-list (the lab's networks)"))
	for _, n := range r.Networks {
		fmt.Fprintf(&b, "uuid ( RO)         : %s\n          name-label ( RW): %s\n              bridge ( RO): %s\n", n.UUID, n.NameLabel, n.Bridge)
		if n.Adopted {
			fmt.Fprintf(&b, "             (adopted, not the lab's)\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(p.heading("# dom0: ovs-vsctl show (the lab's bridges)") + "\n")
	for _, br := range r.Switch {
		fmt.Fprintf(&b, "    Bridge %q\n", br.Bridge)
		for _, port := range br.Ports {
			fmt.Fprintf(&b, "        Port %q\n", port.Name)
			if port.Tag != "" {
				line := "            tag: " + port.Tag
				if port.Placeholder {
					line = p.mark(line + "    <- placeholder: forces the bridge into existence, carries nothing")
				}
				b.WriteString(line + "\n")
			}
		}
	}
	if r.DomU == nil {
		b.WriteString("\ndomU: none\n")
	} else {
		fmt.Fprintf(&b, "\n%s", p.heading(fmt.Sprintf("domU %q", r.DomU.NameLabel)))
		fmt.Fprintf(&b, " (%s): %s", r.DomU.UUID, r.DomU.PowerState)
		if r.DomU.IP != "" {
			fmt.Fprintf(&b, ", IP %s", r.DomU.IP)
		}
		if r.DomU.Uptime != "" {
			fmt.Fprintf(&b, ", up %s", r.DomU.Uptime)
		}
		b.WriteString("\n")
	}
	if r.DomUSwitchError != "" {
		fmt.Fprintf(&b, "domU's switch: not read: %s\n", r.DomUSwitchError)
	}
	if s := r.DomUSwitch; s != nil {
		fmt.Fprintf(&b, "\n%s\n", p.heading(fmt.Sprintf("# domU: ovs-ofctl show %s (the uplink to the physical network)", s.Bridge)))
		if s.UplinkLine != "" {
			b.WriteString(p.mark(" "+s.UplinkLine) + "\n")
		} else {
			fmt.Fprintf(&b, " (no %s port)\n", s.Uplink)
		}
		fmt.Fprintf(&b, "\n%s\n", p.heading(fmt.Sprintf("# domU: ovs-ofctl dump-flows %s (segment %d on its local VLAN)", s.Bridge, s.Segment)))
		for _, f := range s.Flows {
			b.WriteString(p.mark(" "+f) + "\n")
		}
		if len(s.Flows) == 0 {
			fmt.Fprintf(&b, " (no flow maps dl_vlan=%d from %s)\n", s.Segment, s.Uplink)
		}
		fmt.Fprintf(&b, "\n%s\n", p.heading(fmt.Sprintf("# domU: ovs-vsctl show (the tagged ports of %s)", s.Bridge)))
		fmt.Fprintf(&b, "    Bridge %q\n", s.Bridge)
		for _, port := range s.Ports {
			line := "            tag: " + port.Tag
			if port.Tag == s.LocalVLAN {
				line = p.mark(line)
			}
			fmt.Fprintf(&b, "        Port %q\n%s\n", port.Name, line)
		}
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
