package ovs

import (
	"crypto/rand"
	"fmt"
	"sort"
	"time"
)

// row is one record: its UUID and the values of its modelled columns.
type row struct {
	uuid string
	strs map[string]string // kString, and kOptString when present
	ints map[string][]int64
	maps map[string]map[string]string
}

func newRow() *row {
	return &row{uuid: newUUID(), strs: map[string]string{}, ints: map[string][]int64{}, maps: map[string]map[string]string{}}
}

func (r *row) clone() *row {
	c := &row{uuid: r.uuid, strs: map[string]string{}, ints: map[string][]int64{}, maps: map[string]map[string]string{}}
	for k, v := range r.strs {
		c.strs[k] = v
	}
	for k, v := range r.ints {
		c.ints[k] = append([]int64(nil), v...)
	}
	for k, m := range r.maps {
		cm := make(map[string]string, len(m))
		for mk, mv := range m {
			cm[mk] = mv
		}
		c.maps[k] = cm
	}
	return c
}

func (r *row) mapOf(col string) map[string]string {
	if r.maps[col] == nil {
		r.maps[col] = map[string]string{}
	}
	return r.maps[col]
}

// iface is an Interface record plus the state ovs-vswitchd gives it.
type iface struct {
	*row
	mac string
}

// port is a Port record with its single interface.
type port struct {
	*row
	iface *iface
}

// bridge is a Bridge record with its ports and OpenFlow table.
type bridge struct {
	*row
	ports      []*port
	flows      []*flow
	mac        string
	nextOfport int64
	failMode   string // the fail mode ovs-vswitchd last applied

}

// model is the state of one modelled Open vSwitch.
type model struct {
	root    *row
	bridges []*bridge
	devices map[string]bool // network devices in the host, for system ports
	logDir  string
	seq     uint64 // flow insertion counter
	now     func() time.Time
}

func newModel(logDir string) *model {
	root := newRow()
	root.strs["ovs_version"] = ModelVersion
	return &model{root: root, devices: map[string]bool{}, logDir: logDir, now: time.Now}
}

func (m *model) clone() *model {
	c := &model{root: m.root.clone(), devices: map[string]bool{}, logDir: m.logDir, seq: m.seq, now: m.now}
	for d := range m.devices {
		c.devices[d] = true
	}
	for _, b := range m.bridges {
		nb := &bridge{row: b.row.clone(), mac: b.mac, nextOfport: b.nextOfport, failMode: b.failMode}
		for _, p := range b.ports {
			nb.ports = append(nb.ports, &port{row: p.row.clone(), iface: &iface{row: p.iface.row.clone(), mac: p.iface.mac}})
		}
		for _, f := range b.flows {
			nf := *f
			nf.match = append([]matchField(nil), f.match...)
			nb.flows = append(nb.flows, &nf)
		}
		c.bridges = append(c.bridges, nb)
	}
	return c
}

func (m *model) bridge(name string) *bridge {
	for _, b := range m.bridges {
		if b.strs["name"] == name {
			return b
		}
	}
	return nil
}

// findPort returns the port named name and its bridge.
func (m *model) findPort(name string) (*bridge, *port) {
	for _, b := range m.bridges {
		for _, p := range b.ports {
			if p.strs["name"] == name {
				return b, p
			}
		}
	}
	return nil, nil
}

func (m *model) sortedBridges() []*bridge {
	bs := append([]*bridge(nil), m.bridges...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].strs["name"] < bs[j].strs["name"] })
	return bs
}

// addBridge creates a bridge with its local internal port and the default
// NORMAL flow, as ovs-vswitchd does for a new bridge.
func (m *model) addBridge(name string) *bridge {
	b := &bridge{row: newRow(), mac: newMAC(), nextOfport: 1}
	b.strs["name"] = name
	b.strs["datapath_type"] = "netdev"
	m.bridges = append(m.bridges, b)
	p := m.addPort(b, name)
	p.iface.strs["type"] = "internal"
	p.iface.mac = b.mac
	b.failMode = "standalone"
	m.addDefaultFlow(b)
	return b
}

// addDefaultFlow adds the flow a bridge in standalone mode without a
// controller has: priority 0, NORMAL.
func (m *model) addDefaultFlow(b *bridge) {
	m.seq++
	b.flows = append(b.flows, &flow{priority: 0, actions: "NORMAL", created: m.now(), seq: m.seq})
}

// applyFailMode does what ovs-vswitchd does when a bridge's fail mode
// changes: it flushes the flow table, and a standalone bridge gets its
// default flow back.
func (m *model) applyFailMode(b *bridge) {
	want := b.strs["fail_mode"]
	if want == "" {
		want = "standalone"
	}
	if want == b.failMode {
		return
	}
	b.failMode = want
	b.flows = nil
	if want == "standalone" {
		m.addDefaultFlow(b)
	}
}

func (m *model) addPort(b *bridge, name string) *port {
	ir := newRow()
	ir.strs["name"] = name
	ir.strs["type"] = ""
	pr := newRow()
	pr.strs["name"] = name
	p := &port{row: pr, iface: &iface{row: ir, mac: newMAC()}}
	b.ports = append(b.ports, p)
	return p
}

func (m *model) delBridge(b *bridge) {
	for i, x := range m.bridges {
		if x == b {
			m.bridges = append(m.bridges[:i], m.bridges[i+1:]...)
			return
		}
	}
}

func (b *bridge) delPort(p *port) {
	for i, x := range b.ports {
		if x == p {
			b.ports = append(b.ports[:i], b.ports[i+1:]...)
			return
		}
	}
}

// warning is what ovs-vsctl prints when ovs-vswitchd could not set up an
// interface.
type warning struct{ iface, msg string }

// reconfigure does what ovs-vswitchd does after a transaction: it opens new
// interfaces, giving each an OpenFlow port number or an error.
func (m *model) reconfigure() []warning {
	var warns []warning
	for _, b := range m.bridges {
		m.applyFailMode(b)
		for _, p := range b.ports {
			ifc := p.iface
			name := ifc.strs["name"]
			if name == b.strs["name"] {
				ifc.ints["ofport"] = []int64{65534}
				continue
			}
			prev, assigned := ifc.ints["ofport"]
			if assigned && !(len(prev) == 1 && prev[0] == -1) {
				continue
			}
			var errText string
			switch ifc.strs["type"] {
			case "internal":
			case "patch":
				if ifc.mapOf("options")["peer"] == "" {
					errText = name + ": patch type requires valid 'peer' argument"
				}
			case "":
				if !m.devices[name] {
					errText = "could not open network device " + name + " (No such device)"
				}
			default:
				errText = "could not open network device " + name + " (Address family not supported by protocol)"
			}
			if errText != "" {
				ifc.ints["ofport"] = []int64{-1}
				ifc.strs["error"] = errText
				if !assigned {
					warns = append(warns, warning{iface: name, msg: errText})
				}
				continue
			}
			delete(ifc.strs, "error")
			ifc.strs["mac_in_use"] = ifc.mac
			ifc.ints["ofport"] = []int64{b.allocOfport()}
		}
	}
	m.checkPatchPeers()
	return warns
}

// checkPatchPeers sets or clears the error ovs-vswitchd reports on an open
// patch port whose peer is not a patch port in a bridge of its datapath.
func (m *model) checkPatchPeers() {
	patches := map[string]string{} // patch interface name -> datapath type
	for _, b := range m.bridges {
		for _, p := range b.ports {
			if p.iface.strs["type"] == "patch" {
				patches[p.iface.strs["name"]] = b.strs["datapath_type"]
			}
		}
	}
	for _, b := range m.bridges {
		for _, p := range b.ports {
			ifc := p.iface
			peer := ifc.mapOf("options")["peer"]
			if ifc.strs["type"] != "patch" || peer == "" {
				continue
			}
			if v := ifc.ints["ofport"]; len(v) != 1 || v[0] <= 0 {
				continue
			}
			dp := b.strs["datapath_type"]
			if have, ok := patches[peer]; ok && have == dp {
				delete(ifc.strs, "error")
			} else {
				ifc.strs["error"] = fmt.Sprintf("No usable peer '%s' exists in '%s' datapath.", peer, dp)
			}
		}
	}
}

// allocOfport gives the next free number after the last one given; OVS 3.1
// does not give a re-added port its old number back (checked against it).
func (b *bridge) allocOfport() int64 {
	inUse := map[int64]bool{}
	for _, p := range b.ports {
		if v := p.iface.ints["ofport"]; len(v) == 1 {
			inUse[v[0]] = true
		}
	}
	for i := 0; i < 65280; i++ {
		n := b.nextOfport
		b.nextOfport++
		if b.nextOfport >= 65280 {
			b.nextOfport = 1
		}
		if !inUse[n] {
			return n
		}
	}
	return -1
}

// ofport returns the OpenFlow port number of the named port on b, or
// false when it has none.
func (b *bridge) ofport(name string) (int64, bool) {
	for _, p := range b.ports {
		if p.strs["name"] == name {
			v := p.iface.ints["ofport"]
			if len(v) == 1 && v[0] > 0 {
				return v[0], true
			}
		}
	}
	return 0, false
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newMAC returns a random locally administered unicast MAC address.
func newMAC() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	b[0] = b[0]&0xfe | 0x02
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}
