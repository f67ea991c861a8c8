package localrc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// ParseVLANRange parses "min:max" with 1 <= min <= max <= 4094.
func ParseVLANRange(s string) (VLANRange, error) {
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		return VLANRange{}, fmt.Errorf("vlan_range must be \"min:max\" such as \"1000:1024\"; got %q", s)
	}
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return VLANRange{}, fmt.Errorf("vlan_range must be two VLAN ids \"min:max\" such as \"1000:1024\"; got %q", s)
	}
	if min < 1 || min > 4094 || max < 1 || max > 4094 {
		return VLANRange{}, fmt.Errorf("VLAN ids must be within 1-4094 (0 and 4095 are reserved); got %q", s)
	}
	if min > max {
		return VLANRange{}, fmt.Errorf("vlan_range must be ordered min:max; %d is greater than %d", min, max)
	}
	return VLANRange{Min: min, Max: max}, nil
}

// quantum checks the plugin, the VLAN range and the two agents.
func (v *validator) quantum(raw *quantumBlock) Quantum {
	def := raw.DefRange
	q := Quantum{Plugin: raw.Plugin, TenantNetworkType: raw.TenantNetworkType, PhysicalNetwork: raw.PhysicalNetwork}
	v.check(raw.PluginRange, func() {
		if raw.Plugin != "openvswitch" {
			v.errorf(at(raw.PluginRange, def), "quantum.plugin", "plugin must be \"openvswitch\" (Q_PLUGIN): xenlab builds the Open vSwitch agents only; got %q", raw.Plugin)
		}
	})
	v.check(raw.TenantNetworkTypeRange, func() {
		if raw.TenantNetworkType != "vlan" {
			v.errorf(at(raw.TenantNetworkTypeRange, def), "quantum.tenant_network_type", "tenant_network_type must be \"vlan\" (ENABLE_TENANT_VLANS=True): xenlab builds VLAN tenant networks only; got %q", raw.TenantNetworkType)
		}
	})
	v.check(raw.PhysicalNetworkRange, func() {
		if !physnetRE.MatchString(raw.PhysicalNetwork) {
			v.errorf(at(raw.PhysicalNetworkRange, def), "quantum.physical_network", "physical_network must be a name such as \"physnet1\" (no ':' or ','); got %q", raw.PhysicalNetwork)
		}
	})
	v.check(raw.VLANRangeRange, func() {
		r, err := ParseVLANRange(raw.VLANRange)
		if err != nil {
			v.errorf(at(raw.VLANRangeRange, def), "quantum.vlan_range", "%v", err)
		}
		q.VLANs = r
	})
	v.domuaIface = def
	q.Dom0Agent = Agent{Name: AgentDom0}
	q.DomUAgent = Agent{Name: AgentDomU}
	defaults := map[string]agentBlock{AgentDom0: defaultAgent(AgentDom0), AgentDomU: defaultAgent(AgentDomU)}
	seen := map[string]hcl.Range{}
	for _, ah := range raw.Agents {
		if ah.Name != AgentDom0 && ah.Name != AgentDomU {
			v.errorf(ah.LabelRange, "quantum agent", "agent must be \"q-agt\" (dom0's switch) or \"q-domua\" (domU's switch); got %q", ah.Name)
			continue
		}
		if prev, dup := seen[ah.Name]; dup {
			v.errorf(ah.LabelRange, "quantum agent", "agent %q is already defined at %s", ah.Name, prev)
			continue
		}
		seen[ah.Name] = ah.LabelRange
		a := defaultAgent(ah.Name)
		v.diags = append(v.diags, gohcl.DecodeBody(ah.Body, v.ctx, &a)...)
		v.agent(ah, &a)
		if ah.Name == AgentDomU {
			v.domuaIface = at(a.PhysicalInterfaceRange, ah.DefRange)
		}
		defaults[ah.Name] = a
	}
	for name, a := range defaults {
		ag := Agent{Name: name, IntegrationBridge: a.IntegrationBridge, PhysicalBridge: a.PhysicalBridge, PhysicalInterface: a.PhysicalInterface}
		if name == AgentDom0 {
			q.Dom0Agent = ag
		} else {
			q.DomUAgent = ag
		}
	}
	return q
}

// agent checks one agent block's bridge and interface names.
func (v *validator) agent(ah agentHeader, a *agentBlock) {
	field := "quantum.agent." + ah.Name
	for _, b := range []struct {
		attr, val string
		rng       hcl.Range
		required  bool
	}{
		{"integration_bridge", a.IntegrationBridge, a.IntegrationBridgeRange, ah.Name == AgentDomU},
		{"physical_bridge", a.PhysicalBridge, a.PhysicalBridgeRange, ah.Name == AgentDomU},
		{"physical_interface", a.PhysicalInterface, a.PhysicalInterfaceRange, ah.Name == AgentDomU},
	} {
		rng := at(b.rng, ah.DefRange)
		v.check(b.rng, func() {
			switch {
			case b.val == "" && b.required:
				v.errorf(rng, field+"."+b.attr, "%s of q-domua must name a device in domU such as %q", b.attr, defaultAgentValue(b.attr))
			case b.val != "" && !bridgeRE.MatchString(b.val):
				v.errorf(rng, field+"."+b.attr, "%s must be a Linux interface name (1-15 letters, digits, '.', '_', '-'); got %q", b.attr, b.val)
			}
		})
	}
	if ah.Name == AgentDom0 && a.PhysicalInterface != "" {
		v.errorf(a.PhysicalInterfaceRange, field+".physical_interface", "physical_interface applies to q-domua only: dom0's physical bridge is the VM network's xapi bridge")
	}
	if a.IntegrationBridge != "" && a.IntegrationBridge == a.PhysicalBridge {
		v.errorf(at(a.PhysicalBridgeRange, ah.DefRange), field+".physical_bridge", "physical_bridge must differ from integration_bridge (%q)", a.IntegrationBridge)
	}
}

func defaultAgentValue(attr string) string {
	d := defaultAgent(AgentDomU)
	switch attr {
	case "integration_bridge":
		return d.IntegrationBridge
	case "physical_bridge":
		return d.PhysicalBridge
	}
	return d.PhysicalInterface
}
