package ovs

import (
	"fmt"
	"sort"
	"strings"
)

// show renders `ovs-vsctl show`: the database UUID, then each bridge with
// its ports and interfaces, then the version. Real OVS orders bridges and
// ports by record UUID; the model orders them by name.
func (m *model) show() string {
	var b strings.Builder
	b.WriteString(m.root.uuid + "\n")
	for _, br := range m.sortedBridges() {
		fmt.Fprintf(&b, "    Bridge %s\n", quoteAtom(br.strs["name"]))
		if v, ok := br.strs["fail_mode"]; ok {
			fmt.Fprintf(&b, "        fail_mode: %s\n", quoteAtom(v))
		}
		if v := br.strs["datapath_type"]; v != "" {
			fmt.Fprintf(&b, "        datapath_type: %s\n", quoteAtom(v))
		}
		ps := append([]*port(nil), br.ports...)
		sort.Slice(ps, func(i, j int) bool { return ps[i].strs["name"] < ps[j].strs["name"] })
		for _, p := range ps {
			fmt.Fprintf(&b, "        Port %s\n", quoteAtom(p.strs["name"]))
			if v := p.ints["tag"]; len(v) > 0 {
				fmt.Fprintf(&b, "            tag: %s\n", formatInts(v, true))
			}
			if v := p.ints["trunks"]; len(v) > 0 {
				fmt.Fprintf(&b, "            trunks: %s\n", formatInts(v, false))
			}
			ifc := p.iface
			fmt.Fprintf(&b, "            Interface %s\n", quoteAtom(ifc.strs["name"]))
			if v := ifc.strs["type"]; v != "" {
				fmt.Fprintf(&b, "                type: %s\n", quoteAtom(v))
			}
			if v := ifc.maps["options"]; len(v) > 0 {
				fmt.Fprintf(&b, "                options: %s\n", formatMap(v))
			}
			if v, ok := ifc.strs["error"]; ok {
				fmt.Fprintf(&b, "                error: %s\n", quoteAtom(v))
			}
		}
	}
	if v, ok := m.root.strs["ovs_version"]; ok {
		fmt.Fprintf(&b, "    ovs_version: %s\n", quoteAtom(v))
	}
	return b.String()
}
