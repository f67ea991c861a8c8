package localrc

import (
	"fmt"
	"slices"
	"strings"
)

// A localrc of another era: devstack's XenServer support moved from
// tools/xen and lib/nova_plugins/hypervisor-xenserver (Havana, what xenlab
// builds) to the os-xenapi devstack plugin (Ocata), and neutron's
// Open vSwitch plugin gave way to ML2 (the default from Juno). A file
// written for the later devstack imports, but what it asks for does not
// happen in the lab: one warning says what the lab runs instead.

// eraEvidence is one sign of a later devstack: where, and what.
type eraEvidence struct {
	line int
	what string
}

// laterEraSetting reports whether a setting is ML2's (Q_ML2_*, read by
// lib/neutron_plugins/ml2, which havana-eol's XenServer support does not
// configure), as os-xenapi's devstack/local.conf.sample sets them.
func laterEraSetting(name string) bool {
	return strings.HasPrefix(name, "Q_ML2_")
}

// eraWarning warns once, at the first sign, when the file was written for
// a later devstack than the lab runs, naming every sign and what the lab
// runs instead.
func (m *mapper) eraWarning() {
	ev := append([]eraEvidence(nil), m.in.plugins...)
	if v := m.in.vars["Q_PLUGIN"]; v != nil {
		if s, ok := v.value.literal(); ok && s == "ml2" {
			ev = append(ev, eraEvidence{v.line, "Q_PLUGIN=ml2"})
		}
	}
	for _, name := range m.in.order {
		if laterEraSetting(name) {
			ev = append(ev, eraEvidence{m.in.vars[name].line, name})
		}
	}
	if len(ev) == 0 {
		return
	}
	slices.SortStableFunc(ev, func(a, b eraEvidence) int { return a.line - b.line })
	signs := make([]string, len(ev))
	for i, e := range ev {
		signs[i] = fmt.Sprintf("%s at line %d", e.what, e.line)
	}
	branch := DefaultDevstackBranch
	if a, ok := m.out.attrs["devstack.branch"]; ok {
		branch = a.value.AsString()
	}
	m.warns = append(m.warns, warning{ev[0].line, fmt.Sprintf("written for a later devstack than the lab runs (%s): "+
		"xenlab runs devstack %s with its own XenServer support (VIRT_DRIVER=xenserver, no devstack plugin) and Quantum's "+
		"openvswitch plugin (q-agt on dom0's switch through netwrap, q-domua on domU's), VLAN tenant networks; "+
		"ML2 settings and devstack plugins have no effect there", strings.Join(signs, ", "), branch)})
}

// domUDefines reports whether a variable a pass-through value refers to is
// set in domU when devstack reads localrc: by devstack (devstackSettings),
// by xenlab's localrc (DomULocalrcSettings), or by a credential the lab
// file passes through (written first).
func (m *mapper) domUDefines(name string) bool {
	return slices.Contains(devstackSettings, name) || slices.Contains(DomULocalrcSettings, name) || m.passed[name]
}

// checkRefs warns about the variables v's value refers to: kept for
// devstack to expand when domU sets them, flagged when nothing there does
// (a script variable of the imported file, ${XENSERVER_IP}), since bash
// then expands them to nothing.
func (m *mapper) checkRefs(v *shellVar) {
	var refs []string
	add := func(val segs) {
		for _, r := range val.refs() {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
	}
	add(v.value)
	for _, e := range v.array {
		add(e)
	}
	var kept, undefined []string
	for _, r := range refs {
		if m.domUDefines(r) {
			kept = append(kept, r)
		} else {
			undefined = append(undefined, r)
		}
	}
	if len(kept) > 0 {
		m.warnf(v, "keeps ${%s} for devstack to expand in domU", strings.Join(kept, "}, ${"))
	}
	if len(undefined) > 0 {
		m.warnf(v, "refers to ${%s}, which nothing in domU sets when devstack reads localrc (not this file, not xenlab's localrc, not devstack's stackrc), so bash expands it to nothing: give its value in devstack.extra, or write the value itself",
			strings.Join(undefined, "}, ${"))
	}
}
