package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/localrc"
	"xenlab/provision"
)

// verify reads both switches and checks the lab's promises: dom0's
// integration bridge holds the placeholder on VLAN 4095 (placeholder
// method) and a patch link to the VM network's bridge; domU's br-int has
// int-br-eth1 patched to br-eth1, the flow that maps the tenant segment
// (the first VLAN of the lab's range) to a local VLAN, and a DHCP (tap)
// and a router (qr-) port on that local VLAN. A broken promise names the
// switch, the bridge, what was expected and what was found. It only reads,
// so it runs on every up.
type verify struct {
	host   *hosts.Host
	lab    *localrc.Config
	agents *agents // whose connection to domU it uses and closes; nil: its own
}

func (v *verify) Name() string                        { return "verify" }
func (v *verify) Deps() []string                      { return []string{"agents"} }
func (v *verify) ReadOnly() bool                      { return true }
func (v *verify) Check(context.Context) (bool, error) { return false, nil }

// Destroy has nothing to undo.
func (v *verify) Destroy(context.Context, provision.Output) error { return nil }

// ovsPort is one port of a switch as ovsdb has it.
type ovsPort struct {
	name, bridge, tag, typ, peer, ofport, xsVIF string
}

// ovsSwitch is one host's switch: its ports by name and the flows of one
// bridge.
type ovsSwitch struct {
	ports map[string]ovsPort
	flows []string
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

// readSwitch reads ports, their tags, types, patch peers, OpenFlow
// numbers, and the flows of flowsOf, in one command.
func readSwitch(ctx context.Context, c *ssh.Client, flowsOf string) (ovsSwitch, error) {
	cmd := `set -e; for b in $(ovs-vsctl list-br); do for p in $(ovs-vsctl list-ports "$b"); do echo "P $b $p"; done; done; ` +
		`echo "=ports"; ovs-vsctl --format=json --columns=name,tag list Port; ` +
		`echo "=ifaces"; ovs-vsctl --format=json --columns=name,type,options,ofport,external_ids list Interface; ` +
		`echo "=flows"; ovs-ofctl dump-flows --no-stats ` + ssh.ShellQuote(flowsOf)
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return ovsSwitch{}, fmt.Errorf("%s: reading the switch: %w: %s", c.Host(), err, strings.TrimSpace(string(res.Stderr)))
	}
	sw := ovsSwitch{ports: map[string]ovsPort{}}
	section := ""
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		switch {
		case strings.HasPrefix(l, "="):
			section = l[1:]
		case section == "" && strings.HasPrefix(l, "P "):
			f := strings.Fields(l)
			if len(f) == 3 {
				sw.ports[f[2]] = ovsPort{name: f[2], bridge: f[1]}
			}
		case section == "ports" || section == "ifaces":
			if strings.TrimSpace(l) == "" {
				continue
			}
			var t struct{ Data [][]any }
			if err := json.Unmarshal([]byte(l), &t); err != nil {
				return sw, fmt.Errorf("%s: ovs-vsctl list: %w", c.Host(), err)
			}
			for _, row := range t.Data {
				if len(row) == 0 {
					continue
				}
				name := atom(row[0])
				p, ok := sw.ports[name]
				if !ok {
					continue
				}
				if section == "ports" && len(row) == 2 {
					p.tag = atom(row[1])
				} else if section == "ifaces" && len(row) == 5 {
					p.typ, p.peer, p.ofport, p.xsVIF = atom(row[1]), ovsMap(row[2])["peer"], atom(row[3]), ovsMap(row[4])["xs-vif-uuid"]
				}
				sw.ports[name] = p
			}
		case section == "flows" && strings.TrimSpace(l) != "":
			sw.flows = append(sw.flows, strings.TrimSpace(l))
		}
	}
	return sw, nil
}

// atom is an ovsdb JSON value as text: "" for an empty set.
func atom(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case []any:
		if len(x) == 2 && x[0] == "set" {
			if s, ok := x[1].([]any); ok && len(s) == 1 {
				return atom(s[0])
			}
			return ""
		}
		if len(x) == 2 {
			return atom(x[1])
		}
	}
	return fmt.Sprint(v)
}

// ovsMap is an ovsdb JSON map.
func ovsMap(v any) map[string]string {
	out := map[string]string{}
	x, ok := v.([]any)
	if !ok || len(x) != 2 || x[0] != "map" {
		return out
	}
	pairs, _ := x[1].([]any)
	for _, p := range pairs {
		if kv, ok := p.([]any); ok && len(kv) == 2 {
			out[atom(kv[0])] = atom(kv[1])
		}
	}
	return out
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

// broken is one failed promise.
func broken(sw, bridge, expected, found string) error {
	return fmt.Errorf("%s switch, bridge %s: expected %s, found %s", sw, bridge, expected, found)
}

// checkDom0 checks dom0's integration bridge.
func checkDom0(sw ovsSwitch, intBr, vmBr string, placeholder bool) []error {
	var errs []error
	ports := sw.on(intBr)
	if placeholder {
		ok := false
		for _, p := range ports {
			if p.xsVIF != "" && p.tag == DeadVLAN {
				ok = true
			}
		}
		if !ok {
			errs = append(errs, broken("dom0", intBr, "the placeholder VIF's port on VLAN "+DeadVLAN, describe(ports)))
		}
	}
	linked := false
	for _, p := range ports {
		if q, ok := sw.ports[p.peer]; ok && p.typ == "patch" && q.bridge == vmBr && q.peer == p.name {
			linked = true
		}
	}
	if !linked {
		errs = append(errs, broken("dom0", intBr, "a patch port linked to the VM network's bridge "+vmBr, describe(ports)))
	}
	return errs
}

var modVLAN = regexp.MustCompile(`actions=mod_vlan_vid:(\d+),NORMAL`)

// checkDomU checks domU's br-int for the segment's local VLAN.
func checkDomU(sw ovsSwitch, intBr, physBr string, segment int) []error {
	var errs []error
	link := "int-" + physBr
	p, ok := sw.ports[link]
	if q, qok := sw.ports[p.peer]; !ok || p.bridge != intBr || !qok || q.bridge != physBr {
		return append(errs, broken("domU", intBr, link+" patched to a port of "+physBr, describe(sw.on(intBr))))
	}
	local := ""
	want := fmt.Sprintf("dl_vlan=%d ", segment)
	for _, f := range sw.flows {
		if (strings.Contains(f, "in_port="+p.ofport+",") || strings.Contains(f, "in_port="+link+",")) && strings.Contains(f, want) {
			if m := modVLAN.FindStringSubmatch(f); m != nil {
				local = m[1]
			}
		}
	}
	if local == "" {
		return append(errs, broken("domU", intBr, fmt.Sprintf("a flow in_port=%s,dl_vlan=%d actions=mod_vlan_vid:<local>,NORMAL", link, segment),
			fmt.Sprintf("%d flows: %s", len(sw.flows), strings.Join(sw.flows, "; "))))
	}
	for _, prefix := range []string{"tap", "qr-"} {
		found := false
		for _, q := range sw.on(intBr) {
			if strings.HasPrefix(q.name, prefix) && q.tag == local {
				found = true
			}
		}
		if !found {
			what := map[string]string{"tap": "the DHCP port (tap...)", "qr-": "the router port (qr-...)"}[prefix]
			errs = append(errs, broken("domU", intBr, what+" on local VLAN "+local, describe(sw.on(intBr))))
		}
	}
	return errs
}

func (v *verify) Apply(ctx context.Context, out provision.Output) error {
	inv, err := v.host.Inventory(ctx)
	if err != nil {
		return err
	}
	_, intBr, err := integrationBridge(inv, v.lab)
	if err != nil {
		return err
	}
	vmNet, _, err := findNetwork(inv, v.lab, RoleVMNetwork, v.lab.Networks.VM)
	if err != nil {
		return err
	}
	if vmNet == "" {
		return errors.New("the VM network does not exist (step networks)")
	}
	vmBr := inv.Networks[vmNet].Bridge
	dom0, err := v.host.Dom0(ctx)
	if err != nil {
		return err
	}
	sw0, err := readSwitch(ctx, dom0, intBr)
	if err != nil {
		return err
	}
	errs := checkDom0(sw0, intBr, vmBr, v.lab.Networks.IntegrationBridge != localrc.BridgeAttach)
	a := v.agents
	if a == nil {
		a = &agents{host: v.host, lab: v.lab}
	}
	addr := a.domUAddr(inv)
	if addr == "" {
		return errors.New("domU is not running or reports no address (step boot)")
	}
	g, err := a.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer a.hangUp()
	domuInt, domuPhys := v.lab.Quantum.DomUAgent.IntegrationBridge, v.lab.Quantum.DomUAgent.PhysicalBridge
	if domuInt == "" {
		domuInt = "br-int"
	}
	if domuPhys == "" {
		domuPhys = "br-eth1"
	}
	swU, err := readSwitch(ctx, g, domuInt)
	if err != nil {
		return err
	}
	errs = append(errs, checkDomU(swU, domuInt, domuPhys, v.lab.Quantum.VLANs.Min)...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if v.lab.Networks.IntegrationBridge != localrc.BridgeAttach {
		out.Line("dom0 %s: the placeholder's port is on VLAN %s", intBr, DeadVLAN)
	}
	out.Line("dom0 %s: patched to %s (the VM network)", intBr, vmBr)
	out.Line("domU %s: int-%s patched to %s; VLAN %d mapped to a local VLAN, the DHCP and router ports on it",
		domuInt, domuPhys, domuPhys, v.lab.Quantum.VLANs.Min)
	return nil
}
