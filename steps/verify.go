package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/internal/ovsjson"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/scripts"
)

// verify reads both switches and checks the lab's promises:
//
//   - dom0's integration bridge holds the placeholder VIF's port on VLAN
//     4095 (placeholder method) and a patch link to the VM network's
//     bridge, with the flows that map the tenant segment (the first VLAN
//     of the lab's range) to a local VLAN on the way in and back on the
//     way out;
//   - domU's br-int has int-br-eth1 patched (or veth-linked) to br-eth1,
//     the flow that maps the segment to a local VLAN, and a DHCP (tap) and
//     a router (qr-) port on that local VLAN;
//   - where the switch answers `ovs-appctl ofproto/trace` (real Open
//     vSwitch), the path itself: a frame from a tenant port on dom0's
//     integration bridge leaves the VM network's bridge with the segment's
//     VLAN, and a frame arriving on domU's eth1 with it reaches the DHCP
//     port (trace.go).
//
// A broken promise names the switch, the bridge, what was expected and
// what was found. It only reads, so it runs on every up, and on its own as
// `xenlab verify` (Verify).
type verify struct {
	host  *hosts.Host
	lab   *localrc.Config
	views *Views // where it leaves the walk-through's view of what it read; nil: nowhere
}

// Views are the walk-through's views of the lab (what Status returns) that
// the verify steps of a run built from the switches they read, by host
// name: a command shows them after the run without reading the switches
// again. Safe for concurrent use.
type Views struct {
	mu sync.Mutex
	m  map[string]*StatusReport
}

// Get returns the view verify left for host, or nil.
func (v *Views) Get(host string) *StatusReport {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[host]
}

func (v *Views) put(host string, r *StatusReport) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]*StatusReport{}
	}
	v.m[host] = r
}

// drop forgets host's view: a step after verify changed what it showed
// (snapshot resumes domU in a new domain, so the placeholder's port has a
// new name), and the command reads the host again. Nil-safe.
func (v *Views) drop(host string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, host)
}

// KeepViews makes the graph's verify steps leave their views in v.
func KeepViews(v *Views) Option { return func(o *options) { o.views = v } }

func (v *verify) Name() string                        { return "verify" }
func (v *verify) Deps() []string                      { return []string{"agents"} }
func (v *verify) Check(context.Context) (bool, error) { return false, nil }

// Destroy has nothing to undo.
func (v *verify) Destroy(context.Context, provision.Output) error { return nil }

// Verify returns the graph of `xenlab verify`: the verify step of each
// host, on its own (no dependencies: it reads what is there); the hosts'
// run in parallel.
func Verify(lab *localrc.Config, hs []*hosts.Host) []provision.Node {
	var all []provision.Node
	for _, h := range hs {
		all = append(all, provision.Node{Step: alone{&verify{host: h, lab: lab}}, Host: h.Name(), ReadOnly: true})
	}
	return all
}

// alone is a step run without the steps it follows in a bring-up.
type alone struct{ provision.Step }

func (alone) Deps() []string { return nil }

// ovsPort is one port of a switch as ovsdb has it.
type ovsPort struct {
	name, bridge, tag, typ, peer, ofport, xsVIF string
}

// ovsSwitch is one host's switch: its bridges, its ports by name, the
// flows of the bridges asked for, the lines of one bridge's `ovs-ofctl
// show`, and the kernel's veth pairs (name -> peer).
type ovsSwitch struct {
	bridges map[string]bool
	ports   map[string]ovsPort
	flows   map[string][]string
	show    []string
	veth    map[string]string
}

func (s ovsSwitch) on(bridge string) []ovsPort {
	var out []ovsPort
	for _, p := range s.ports {
		if p.bridge == bridge {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// readSwitch reads bridges, ports, their tags, types, patch peers,
// OpenFlow numbers, `ovs-ofctl show` of the bridge show (if not ""), the
// flows of the bridges flowsOf (those that exist) and the veth pairs, in
// one command.
func readSwitch(ctx context.Context, c *ssh.Client, show string, flowsOf ...string) (ovsSwitch, error) {
	// One ovs-vsctl prints the three tables (bridges with their ports'
	// uuids, ports, interfaces), a JSON document each; every tool run
	// costs a process (on the simulated host, two).
	cmd := `set -e; db=$(ovs-vsctl --format=json --columns=name,ports list Bridge -- --columns=_uuid,name,tag list Port ` +
		`-- --columns=name,type,options,ofport,external_ids list Interface); printf '%s\n' "$db"; `
	has := func(b string) string { // the bridge exists: a row of Bridge (or Interface) starts with its name
		if !bridgeName.MatchString(b) {
			return `case x in x) ` // not a name ovs-vsctl would list; let the tool say what is wrong
		}
		return `case "$db" in *'["` + b + `",'*) `
	}
	if show != "" {
		cmd += has(show) + `echo "=show"; ovs-ofctl show ` + ssh.ShellQuote(show) + `;; esac; `
	}
	for _, b := range flowsOf {
		cmd += has(b) + `echo "=flows ` + b + `"; ovs-ofctl dump-flows --no-stats ` + ssh.ShellQuote(b) + `;; esac; `
	}
	cmd += `echo "=veth"; ip -o link show type veth 2>/dev/null || true`
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return ovsSwitch{}, fmt.Errorf("%s: reading the switch: %w: %s", c.Host(), err, strings.TrimSpace(string(res.Stderr)))
	}
	return parseSwitch(c.Host(), string(res.Stdout))
}

// bridgeName is what readSwitch puts in a shell pattern unquoted.
var bridgeName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// parseSwitch reads readSwitch's output: the JSON documents of the
// Bridge, Port and Interface tables, then sections that start with "=".
// A bridge's own port (its name) is left out, as ovs-vsctl list-ports
// leaves it out.
func parseSwitch(host, out string) (ovsSwitch, error) {
	sw := ovsSwitch{bridges: map[string]bool{}, ports: map[string]ovsPort{}, flows: map[string][]string{}, veth: map[string]string{}}
	section, flowsOf, table := "", "", 0
	portBridge := map[string]string{} // port uuid -> bridge
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "="):
			section = l[1:]
			if b, ok := strings.CutPrefix(section, "flows "); ok {
				section, flowsOf = "flows", b
			}
		case section == "":
			if strings.TrimSpace(l) == "" {
				continue
			}
			var t struct{ Data [][]any }
			if err := json.Unmarshal([]byte(l), &t); err != nil {
				return sw, fmt.Errorf("%s: ovs-vsctl list: %w", host, err)
			}
			table++
			for _, row := range t.Data {
				switch {
				case table == 1 && len(row) == 2: // Bridge: name, ports
					sw.bridges[ovsjson.Atom(row[0])] = true
					for _, u := range ovsjson.UUIDs(row[1]) {
						portBridge[u] = ovsjson.Atom(row[0])
					}
				case table == 2 && len(row) == 3: // Port: _uuid, name, tag
					name, br := ovsjson.Atom(row[1]), portBridge[strings.Join(ovsjson.UUIDs(row[0]), " ")]
					if br != "" && name != br {
						sw.ports[name] = ovsPort{name: name, bridge: br, tag: ovsjson.Atom(row[2])}
					}
				case table == 3 && len(row) == 5: // Interface: name, type, options, ofport, external_ids
					if p, ok := sw.ports[ovsjson.Atom(row[0])]; ok {
						p.typ, p.peer, p.ofport, p.xsVIF = ovsjson.Atom(row[1]), ovsjson.Map(row[2])["peer"], ovsjson.Atom(row[3]), ovsjson.Map(row[4])["xs-vif-uuid"]
						sw.ports[p.name] = p
					}
				}
			}
		case section == "show":
			sw.show = append(sw.show, l)
		case section == "flows" && strings.TrimSpace(l) != "":
			sw.flows[flowsOf] = append(sw.flows[flowsOf], strings.TrimSpace(l))
		case section == "veth":
			// "12: int-br-eth1@phy-br-eth1: <BROADCAST,...> ..."
			if f := strings.Fields(l); len(f) > 1 {
				if name, peer, ok := strings.Cut(strings.TrimSuffix(f[1], ":"), "@"); ok {
					sw.veth[name] = peer
				}
			}
		}
	}
	return sw, nil
}

func describe(ps []ovsPort) string {
	if len(ps) == 0 {
		return "no ports"
	}
	var s []string
	for _, p := range ps {
		d := p.name
		if p.tag != "" {
			d += " tag=" + p.tag
		}
		if p.peer != "" {
			d += " peer=" + p.peer
		}
		s = append(s, d)
	}
	return strings.Join(s, ", ")
}

func describeFlows(flows []string) string {
	return fmt.Sprintf("%d flows: %s", len(flows), strings.Join(flows, "; "))
}

// broken is one failed promise.
func broken(sw, bridge, expected, found string) error {
	return fmt.Errorf("%s switch, bridge %s: expected %s, found %s", sw, bridge, expected, found)
}

// vlanMap returns the VLAN that a flow of flows rewrites dl_vlan=from to
// (actions=mod_vlan_vid:N,NORMAL) for frames entering on port p, matched
// by OpenFlow number or name; "" when there is no such flow.
func vlanMap(flows []string, p ovsPort, from string) string {
	for _, f := range flows {
		match, actions, ok := strings.Cut(f, " actions=")
		if !ok {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Split(match, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			fields[k] = v
		}
		in := fields["in_port"]
		if in == "" || (in != p.ofport && in != p.name) || fields["dl_vlan"] != from {
			continue
		}
		if n, ok := strings.CutPrefix(actions, "mod_vlan_vid:"); ok {
			if n, ok := strings.CutSuffix(n, ",NORMAL"); ok {
				return n
			}
		}
	}
	return ""
}

// dom0Link is dom0's integration bridge as verify found it.
type dom0Link struct {
	intPort, vmPort ovsPort // the patch ports linking the bridges
	local           string  // the segment's local VLAN
	placeholder     string  // the placeholder's port, when checked
}

// checkDom0 checks dom0's integration bridge intBr, its link to the VM
// network's bridge vmBr and the flows that carry segment across it.
// placeholderVIF is the placeholder VIF's uuid ("" when xapi has none);
// placeholder says whether the lab uses the placeholder method.
func checkDom0(sw ovsSwitch, intBr, vmBr, placeholderVIF string, placeholder bool, segment int) (dom0Link, []error) {
	var errs []error
	var l dom0Link
	ports := sw.on(intBr)
	if placeholder {
		const want = "the placeholder VIF's port on VLAN " + DeadVLAN
		var found *ovsPort
		for i, p := range ports {
			if placeholderVIF != "" && p.xsVIF == placeholderVIF {
				found = &ports[i]
			}
		}
		switch {
		case placeholderVIF == "":
			errs = append(errs, broken("dom0", intBr, want, "no placeholder VIF on domU in xapi (step bridge-placeholder)"))
		case found == nil:
			errs = append(errs, broken("dom0", intBr, want, "no port of VIF "+placeholderVIF+" ("+describe(ports)+")"))
		case found.tag != DeadVLAN:
			errs = append(errs, broken("dom0", intBr, want, "port "+found.name+" with tag "+orNone(found.tag)))
		default:
			l.placeholder = found.name
		}
	}
	for _, p := range ports {
		if q, ok := sw.ports[p.peer]; ok && p.typ == "patch" && q.bridge == vmBr && q.peer == p.name {
			l.intPort, l.vmPort = p, q
		}
	}
	if l.intPort.name == "" {
		return l, append(errs, broken("dom0", intBr, "a patch port linked to the VM network's bridge "+vmBr, describe(ports)))
	}
	seg := fmt.Sprint(segment)
	l.local = vlanMap(sw.flows[intBr], l.intPort, seg)
	if l.local == "" {
		return l, append(errs, broken("dom0", intBr, fmt.Sprintf("a flow in_port=%s,dl_vlan=%s actions=mod_vlan_vid:<local>,NORMAL", l.intPort.name, seg),
			describeFlows(sw.flows[intBr])))
	}
	if back := vlanMap(sw.flows[vmBr], l.vmPort, l.local); back != seg {
		errs = append(errs, broken("dom0", vmBr, fmt.Sprintf("a flow in_port=%s,dl_vlan=%s actions=mod_vlan_vid:%s,NORMAL", l.vmPort.name, l.local, seg),
			describeFlows(sw.flows[vmBr])))
	}
	return l, errs
}

func orNone(tag string) string {
	if tag == "" {
		return "none"
	}
	return tag
}

// domULink is domU's integration bridge as verify found it.
type domULink struct {
	link         ovsPort // int-<physical bridge>
	how          string  // "patched" or "veth-linked"
	local        string  // the segment's local VLAN
	dhcp, router ovsPort
}

// checkDomU checks domU's br-int for the link to the physical bridge, the
// segment's local VLAN, and the DHCP and router ports on it.
func checkDomU(sw ovsSwitch, intBr, physBr string, segment int) (domULink, []error) {
	var errs []error
	var l domULink
	name := "int-" + physBr
	p, ok := sw.ports[name]
	q, qok := sw.ports[p.peer]
	switch {
	case ok && p.bridge == intBr && p.typ == "patch" && qok && q.bridge == physBr && q.peer == name:
		l.how = "patched"
	case ok && p.bridge == intBr && p.typ == "" && sw.ports[sw.veth[name]].bridge == physBr:
		l.how = "veth-linked" // Havana's default: a veth pair int-X/phy-X
	default:
		return l, append(errs, broken("domU", intBr, name+" patched or veth-linked to a port of "+physBr, describe(sw.on(intBr))))
	}
	l.link = p
	seg := fmt.Sprint(segment)
	l.local = vlanMap(sw.flows[intBr], p, seg)
	if l.local == "" {
		return l, append(errs, broken("domU", intBr, fmt.Sprintf("a flow in_port=%s,dl_vlan=%s actions=mod_vlan_vid:<local>,NORMAL", name, seg),
			describeFlows(sw.flows[intBr])))
	}
	for _, prefix := range []string{"tap", "qr-"} {
		var found *ovsPort
		for _, q := range sw.on(intBr) {
			if strings.HasPrefix(q.name, prefix) && q.tag == l.local && found == nil {
				found = &q
			}
		}
		if found == nil {
			what := map[string]string{"tap": "the DHCP port (tap...)", "qr-": "the router port (qr-...)"}[prefix]
			errs = append(errs, broken("domU", intBr, what+" on local VLAN "+l.local, describe(sw.on(intBr))))
		} else if prefix == "tap" {
			l.dhcp = *found
		} else {
			l.router = *found
		}
	}
	return l, errs
}

func (v *verify) Apply(ctx context.Context, out provision.Output) error {
	view, err := readView(ctx, v.host, v.lab)
	if err != nil {
		return err
	}
	_, intBr, err := view.integrationBridge()
	if err != nil {
		return err
	}
	vmBr, err := view.vmBridge()
	if err != nil {
		return err
	}
	dom0, err := v.host.Dom0(ctx)
	if err != nil {
		return err
	}
	// The plugin q-agt runs its commands through: a deleted or replaced
	// netwrap does not show on the switches until the agents next call it.
	var errs []error
	if st, err := (&dom0Plugins{host: v.host}).inspect(ctx); err != nil {
		return err
	} else if !st.current() {
		errs = append(errs, fmt.Errorf("dom0, %s: expected xenlab's netwrap (sha256 %s, mode 0755), found %s",
			pluginPath(), scripts.NetwrapSHA256()[:12], st.describe()))
	}
	sw0, err := readSwitch(ctx, dom0, "", intBr, vmBr)
	if err != nil {
		return err
	}
	placeholder := view.placeholderUUID()
	segment := v.lab.Quantum.VLANs.Min
	l0, errs0 := checkDom0(sw0, intBr, vmBr, placeholder, v.lab.Networks.IntegrationBridge != localrc.BridgeAttach, segment)
	errs = append(errs, errs0...)
	vm, rec, ok := view.domURecord()
	if !ok {
		return errors.Join(append(errs, errors.New("domU: expected the lab's domU, found none in xapi (step domU)"))...)
	}
	if _, up := view.domUBoot(); !up {
		found := "power state " + rec.PowerState
		if rec.PowerState == xapi.PowerRunning {
			found = "running, but its guest reports no address on eth" + strconv.Itoa(v.lab.DomU.Devices.Management)
		}
		return errors.Join(append(errs, fmt.Errorf("domU %q (%s): expected running with an address, found %s (step boot)", rec.NameLabel, vm, found))...)
	}
	g, err := domUConn(ctx, v.host, view)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	ag, err := readAgents(ctx, g, nil)
	if err != nil {
		v.host.DropDomU()
		return errors.Join(append(errs, err)...)
	}
	if down := ag.notRunning(); len(down) > 0 {
		errs = append(errs, fmt.Errorf("domU agents: expected q-agt and q-domua running (neutron-openvswitch-agent --config-file %s and %s), found %s not running",
			QAgtPath, QDomUAPath, strings.Join(down, " and ")))
	}
	domuInt, domuPhys, domuNIC := domUBridges(v.lab)
	swU, err := readSwitch(ctx, g, domuInt, domuInt)
	if err != nil {
		v.host.DropDomU()
		return errors.Join(append(errs, err)...)
	}
	if v.views != nil { // what was read is the walk-through's view too
		if rep, err := statusOf(view.inv, v.lab, v.host.Name()); err == nil {
			rep.setDom0(sw0, placeholder)
			rep.setDomU(swU, v.lab)
			v.views.put(v.host.Name(), rep)
		}
	}
	lU, errsU := checkDomU(swU, domuInt, domuPhys, segment)
	// The path by real frames where the switches forward them (probe.go);
	// else by ofproto/trace, else by the flows read above.
	var frames frameProof
	if len(errs0) == 0 && len(errsU) == 0 {
		frames = proveWithFrames(ctx, dom0, g, sw0, swU, intBr, vmBr, l0, domuInt, domuPhys, domuNIC, lU, segment)
	}
	if len(errs0) == 0 {
		if l0.placeholder != "" {
			out.Line("dom0 %s: the placeholder's port %s is on VLAN %s", intBr, l0.placeholder, DeadVLAN)
		}
		out.Line("dom0 %s: %s patched to %s (the VM network); segment %d on local VLAN %s, and back", intBr, l0.intPort.name, vmBr, segment, l0.local)
		if !frames.decided() {
			errs = append(errs, proveDom0(ctx, dom0, sw0, intBr, vmBr, l0, segment, out)...)
		}
	}
	if len(errsU) == 0 {
		out.Line("domU %s: %s %s to %s; VLAN %d mapped to local VLAN %s, the DHCP port %s and the router port %s on it",
			domuInt, lU.link.name, lU.how, domuPhys, segment, lU.local, lU.dhcp.name, lU.router.name)
		if !frames.decided() {
			errsU = proveDomU(ctx, g, domuInt, domuPhys, domuNIC, lU, segment, out)
		}
	}
	errsU = append(errsU, frames.report(out)...)
	return errors.Join(append(errs, errsU...)...)
}
