package steps

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"xenlab/hosts/ssh"
	"xenlab/provision"
)

// The proofs of the path, by `ovs-appctl ofproto/trace BRIDGE FLOW`: Open
// vSwitch computes what it would do with a frame (the flow tables, NORMAL's
// VLAN rules, patch ports into the next bridge) and ends with the datapath
// actions, outputs to datapath port numbers interleaved with VLAN pushes
// and pops (ofproto/ofproto-dpif-trace.c, "Datapath actions:"). `ovs-appctl
// dpif/show` names those ports ("    NAME OFPORT/DPPORT: (TYPE)" under
// "  BRIDGE:"). A switch that has no ofproto/trace (the simulated host's
// model among them) answers as ovs-vswitchd does to any command it lacks,
// `"ofproto/trace" is not a valid command`, and the proof is then reported
// as not available, not as a failure.

// traceSrc is the source MAC of a traced frame: neutron's base MAC prefix
// (fa:16:3e), an address no lab port has.
const traceSrc = "fa:16:3e:00:00:01"

// dpOutput is one output of a traced frame.
type dpOutput struct {
	bridge, port string
	vlan         string // "" untagged
}

func (o dpOutput) String() string {
	v := "untagged"
	if o.vlan != "" {
		v = "VLAN " + o.vlan
	}
	return fmt.Sprintf("%s on %s (%s)", o.port, o.bridge, v)
}

// pathTrace is what ofproto/trace said about one frame.
type pathTrace struct {
	unavailable string // the switch's answer when it has no ofproto/trace
	actions     string // the "Datapath actions:" line
	outputs     []dpOutput
}

// tracePath traces flow entering bridge, and names the datapath ports it
// leaves by.
func tracePath(ctx context.Context, c *ssh.Client, bridge, flow string) (pathTrace, error) {
	cmd := "t=$(ovs-appctl ofproto/trace " + ssh.ShellQuote(bridge) + " " + ssh.ShellQuote(flow) + ` 2>&1); rc=$?; ` +
		`echo "=rc $rc"; printf '%s\n' "$t"; if [ $rc -eq 0 ]; then echo "=dpif"; ovs-appctl dpif/show 2>&1; fi; exit 0`
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return pathTrace{}, fmt.Errorf("%s: ovs-appctl ofproto/trace: %w: %s", c.Host(), err, strings.TrimSpace(string(res.Stderr)))
	}
	return parseTrace(string(res.Stdout), flow)
}

var (
	dpifBridge = regexp.MustCompile(`^  (\S+):$`)
	dpifPort   = regexp.MustCompile(`^    (\S+) \S+/(\d+):`)
)

// parseTrace reads tracePath's output; flow is the traced flow, whose
// dl_vlan (if any) is the frame's VLAN as it enters.
func parseTrace(out, flow string) (pathTrace, error) {
	var t pathTrace
	rcLine, rest, _ := strings.Cut(out, "\n")
	trace, dpif, _ := strings.Cut(rest, "=dpif\n")
	trace = strings.TrimSpace(trace)
	if rc := strings.TrimPrefix(rcLine, "=rc "); rc != "0" {
		first, _, _ := strings.Cut(trace, "\n")
		if strings.Contains(trace, `"ofproto/trace" is not a valid command`) {
			t.unavailable = first
			return t, nil
		}
		return t, fmt.Errorf("ovs-appctl ofproto/trace failed (exit %s): %s", rc, strings.Join(strings.Fields(trace), " "))
	}
	for _, l := range strings.Split(trace, "\n") {
		if a, ok := strings.CutPrefix(l, "Datapath actions: "); ok {
			t.actions = strings.TrimSpace(a)
		}
	}
	if t.actions == "" {
		return t, fmt.Errorf("ovs-appctl ofproto/trace printed no datapath actions: %s", strings.Join(strings.Fields(trace), " "))
	}
	type named struct{ bridge, port string }
	ports := map[string]named{}
	bridge := ""
	for _, l := range strings.Split(dpif, "\n") {
		if m := dpifBridge.FindStringSubmatch(l); m != nil {
			bridge = m[1]
		} else if m := dpifPort.FindStringSubmatch(l); m != nil {
			ports[m[2]] = named{bridge, m[1]}
		}
	}
	vlan := ""
	for _, kv := range strings.Split(flow, ",") {
		if v, ok := strings.CutPrefix(kv, "dl_vlan="); ok {
			vlan = v
		}
	}
	for _, a := range splitActions(t.actions) {
		switch {
		case a == "pop_vlan":
			vlan = ""
		case strings.HasPrefix(a, "push_vlan("):
			for _, kv := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(a, "push_vlan("), ")"), ",") {
				if v, ok := strings.CutPrefix(kv, "vid="); ok {
					vlan = v
				}
			}
		default:
			if _, err := strconv.Atoi(a); err == nil {
				n, ok := ports[a]
				if !ok {
					n = named{"?", "datapath port " + a}
				}
				t.outputs = append(t.outputs, dpOutput{bridge: n.bridge, port: n.port, vlan: vlan})
			}
		}
	}
	return t, nil
}

// splitActions splits datapath actions at the commas outside parentheses.
func splitActions(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func describeOutputs(t pathTrace) string {
	if len(t.outputs) == 0 {
		return "no output (datapath actions: " + t.actions + ")"
	}
	var s []string
	for _, o := range t.outputs {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ") + " (datapath actions: " + t.actions + ")"
}

// dom0Source chooses the frame proveDom0 traces: from the first tenant
// port (a VIF's port with an OpenFlow number on the local VLAN), untagged
// as a VM sends it; else from the bridge's own port with the local VLAN.
func dom0Source(sw ovsSwitch, intBr string, l dom0Link) (from, flow string) {
	for _, p := range sw.on(intBr) {
		if n, err := strconv.Atoi(p.ofport); err == nil && n > 0 && p.tag == l.local && p.typ == "" && p.name != l.placeholder {
			return "tenant port " + p.name, "in_port=" + p.name + ",dl_src=" + traceSrc + ",dl_dst=ff:ff:ff:ff:ff:ff"
		}
	}
	return "the bridge's own port with local VLAN " + l.local + " (no tenant port yet)",
		"in_port=LOCAL,dl_vlan=" + l.local + ",dl_src=" + traceSrc + ",dl_dst=ff:ff:ff:ff:ff:ff"
}

// proveDom0 traces a frame from a tenant port of dom0's integration bridge
// (an access port on the local VLAN; before nova has plugged one, the
// bridge's own port carrying the local VLAN, as NORMAL tags a tenant
// port's frames) and expects it to leave the VM network's bridge with the
// segment's VLAN.
func proveDom0(ctx context.Context, c *ssh.Client, sw ovsSwitch, intBr, vmBr string, l dom0Link, segment int, out provision.Output) []error {
	from, flow := dom0Source(sw, intBr, l)
	t, err := tracePath(ctx, c, intBr, flow)
	if err != nil {
		return []error{fmt.Errorf("dom0 switch, bridge %s: %w", intBr, err)}
	}
	if t.unavailable != "" {
		out.Line("dom0 %s: the path is not proved: this switch has no ofproto/trace (%s)", intBr, t.unavailable)
		return nil
	}
	seg := fmt.Sprint(segment)
	var left []string
	for _, o := range t.outputs {
		if o.bridge == vmBr && o.port != l.vmPort.name && o.vlan == seg {
			left = append(left, o.port)
		}
	}
	if len(left) == 0 {
		return []error{broken("dom0", vmBr, fmt.Sprintf("ofproto/trace: a frame from %s on %s leaves %s with VLAN %s", from, intBr, vmBr, seg),
			describeOutputs(t))}
	}
	sort.Strings(left)
	out.Line("dom0 %s: ofproto/trace: a frame from %s leaves %s with VLAN %s (on %s)", intBr, from, vmBr, seg, strings.Join(left, ", "))
	return nil
}

// proveDomU traces a broadcast frame (a DHCP discover's addresses)
// arriving on domU's physical interface with the segment's VLAN and
// expects it to reach the DHCP port, which is on the local VLAN.
func proveDomU(ctx context.Context, c *ssh.Client, intBr, physBr, nic string, l domULink, segment int, out provision.Output) []error {
	seg := fmt.Sprint(segment)
	flow := "in_port=" + nic + ",dl_vlan=" + seg + ",dl_src=" + traceSrc + ",dl_dst=ff:ff:ff:ff:ff:ff"
	t, err := tracePath(ctx, c, physBr, flow)
	if err != nil {
		return []error{fmt.Errorf("domU switch, bridge %s: %w", physBr, err)}
	}
	if t.unavailable != "" {
		out.Line("domU %s: the path is not proved: this switch has no ofproto/trace (%s)", physBr, t.unavailable)
		return nil
	}
	for _, o := range t.outputs {
		if o.bridge == intBr && o.port == l.dhcp.name {
			out.Line("domU %s: ofproto/trace: a frame arriving on %s with VLAN %s reaches the DHCP port %s (local VLAN %s)",
				physBr, nic, seg, l.dhcp.name, l.local)
			return nil
		}
	}
	return []error{broken("domU", intBr, fmt.Sprintf("ofproto/trace: a frame arriving on %s (bridge %s) with VLAN %s reaches the DHCP port %s on local VLAN %s",
		nic, physBr, seg, l.dhcp.name, l.local), describeOutputs(t))}
}
