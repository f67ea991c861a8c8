package ovs

import (
	"bufio"
	"fmt"
	"sort"
	"strings"
)

// runOfctl runs one ovs-ofctl command line against the model.
func (s *modelSwitch) runOfctl(args []string, stdin []byte) Result {
	var o ofctlOpts
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--strict":
			o.strict = true
		case a == "--no-stats":
			o.noStats = true
		case a == "--sort" || a == "--sort=priority":
			o.sort = 1
		case a == "--rsort" || a == "--rsort=priority":
			o.sort = -1
		case a == "-O" || a == "-t":
			i++
		case strings.HasPrefix(a, "--protocols=") || strings.HasPrefix(a, "-O") ||
			strings.HasPrefix(a, "--timeout=") || a == "--no-names" || a == "--color=never":
		case strings.HasPrefix(a, "-") && a != "-":
			return toolResult("ovs-ofctl", nil, failf("option '%s' is not modelled", a))
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return toolResult("ovs-ofctl", nil, failf("missing command name; use --help for help"))
	}
	cmd, rest := pos[0], pos[1:]
	arity := map[string][2]int{
		"show": {1, 1}, "dump-flows": {1, 2}, "add-flow": {2, 2}, "add-flows": {2, 2},
		"del-flows": {1, 2}, "mod-flows": {2, 2},
	}
	ar, ok := arity[cmd]
	if !ok {
		return toolResult("ovs-ofctl", nil, failf("unknown command '%s'; use --help for help", cmd))
	}
	if len(rest) < ar[0] {
		return toolResult("ovs-ofctl", nil, failf("'%s' command requires at least %d arguments", cmd, ar[0]))
	}
	if len(rest) > ar[1] {
		return toolResult("ovs-ofctl", nil, failf("'%s' command takes at most %d arguments", cmd, ar[1]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m.bridge(rest[0])
	if b == nil {
		return toolResult("ovs-ofctl", nil, failf("%s is not a bridge or a socket", rest[0]))
	}
	out, err := s.m.ofctl(b, cmd, rest[1:], o, stdin)
	return toolResult("ovs-ofctl", []byte(out), err)
}

// ofctlOpts are the ovs-ofctl options the model implements.
type ofctlOpts struct {
	strict  bool
	noStats bool
	sort    int // 1 ascending priority, -1 descending, 0 as stored
}

func (m *model) ofctl(b *bridge, cmd string, args []string, o ofctlOpts, stdin []byte) (string, error) {
	strict := o.strict
	switch cmd {
	case "show":
		return m.ofctlShow(b), nil
	case "dump-flows":
		spec := &flowSpec{}
		xid := 4
		if len(args) == 1 {
			var err error
			if spec, err = parseFlow(b, args[0], false); err != nil {
				return "", err
			}
			xid = 8
		}
		var fs []*flow
		for _, f := range b.flows {
			if spec.covers(f, strict) {
				fs = append(fs, f)
			}
		}
		sortFlows(fs)
		if o.sort != 0 {
			sort.SliceStable(fs, func(i, j int) bool { return o.sort*fs[i].priority < o.sort*fs[j].priority })
		}
		now := m.now()
		var out strings.Builder
		if !o.noStats && o.sort == 0 {
			fmt.Fprintf(&out, "NXST_FLOW reply (xid=0x%x):\n", xid)
		}
		for _, f := range fs {
			if o.noStats {
				out.WriteString(f.noStatsLine() + "\n")
			} else {
				out.WriteString(f.dumpLine(now, o.sort == 0) + "\n")
			}
		}
		return out.String(), nil
	case "add-flow":
		return "", m.addFlow(b, args[0])
	case "add-flows":
		src := args[0]
		if src != "-" {
			return "", failf("%s: reading flows from a file is not modelled; use -", src)
		}
		sc := bufio.NewScanner(strings.NewReader(string(stdin)))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := m.addFlow(b, line); err != nil {
				return "", err
			}
		}
		return "", nil
	case "del-flows":
		spec := &flowSpec{}
		if len(args) == 1 {
			var err error
			if spec, err = parseFlow(b, args[0], false); err != nil {
				return "", err
			}
		}
		var keep []*flow
		for _, f := range b.flows {
			if !spec.covers(f, strict) {
				keep = append(keep, f)
			}
		}
		b.flows = keep
		return "", nil
	case "mod-flows":
		spec, err := parseFlow(b, args[0], true)
		if err != nil {
			return "", err
		}
		n := 0
		for _, f := range b.flows {
			if spec.covers(f, strict) {
				f.actions = spec.actions
				f.modified = m.now()
				n++
			}
		}
		if n == 0 {
			// OpenFlow 1.0, which ovs-ofctl speaks by default, adds the
			// flow when a modify matches nothing.
			m.insertFlow(b, spec)
		}
		return "", nil
	}
	return "", failf("unknown command '%s'; use --help for help", cmd)
}

func (m *model) addFlow(b *bridge, s string) error {
	spec, err := parseFlow(b, s, true)
	if err != nil {
		return err
	}
	m.insertFlow(b, spec)
	return nil
}

// insertFlow adds a flow, replacing one with the same table, priority and
// match, as an OpenFlow add does.
func (m *model) insertFlow(b *bridge, spec *flowSpec) {
	m.seq++
	nf := spec.flow
	nf.match = append([]matchField(nil), spec.match...)
	nf.created = m.now()
	nf.seq = m.seq
	for i, f := range b.flows {
		if f.table == nf.table && f.priority == nf.priority && f.matchString() == nf.matchString() {
			b.flows[i] = &nf
			return
		}
	}
	b.flows = append(b.flows, &nf)
}

// sortFlows orders flows as ovs-ofctl dump-flows lists them: by table, then
// highest priority first, then oldest first.
func sortFlows(fs []*flow) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].table != fs[j].table {
			return fs[i].table < fs[j].table
		}
		if fs[i].priority != fs[j].priority {
			return fs[i].priority > fs[j].priority
		}
		return fs[i].seq < fs[j].seq
	})
}

// ofctlShow renders `ovs-ofctl show BR`.
func (m *model) ofctlShow(b *bridge) string {
	var out strings.Builder
	fmt.Fprintf(&out, "OFPT_FEATURES_REPLY (xid=0x2): dpid:0000%s\n", strings.ReplaceAll(b.mac, ":", ""))
	out.WriteString("n_tables:254, n_buffers:0\n")
	out.WriteString("capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP\n")
	out.WriteString("actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst\n")
	type entry struct {
		num  int64
		p    *port
		name string
	}
	var es []entry
	for _, p := range b.ports {
		v := p.iface.ints["ofport"]
		if len(v) == 1 && v[0] > 0 {
			es = append(es, entry{v[0], p, p.strs["name"]})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].num < es[j].num })
	for _, e := range es {
		label := fmt.Sprint(e.num)
		if e.num == 65534 {
			label = "LOCAL"
		}
		fmt.Fprintf(&out, " %s(%s): addr:%s\n", label, e.name, e.p.iface.mac)
		if e.p.iface.strs["type"] == "patch" {
			out.WriteString("     config:     0\n     state:      0\n     speed: 0 Mbps now, 0 Mbps max\n")
			continue
		}
		out.WriteString("     config:     PORT_DOWN\n     state:      LINK_DOWN\n     current:    10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n")
	}
	out.WriteString("OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0\n")
	return out.String()
}

// runAppctl runs the ovs-appctl commands the model knows.
func (s *modelSwitch) runAppctl(args []string) Result {
	var pos []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-t" || a == "--target" || a == "-T" || a == "--timeout":
			i++
		case strings.HasPrefix(a, "--target=") || strings.HasPrefix(a, "--timeout="):
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return toolResult("ovs-appctl", nil, failf("at least one non-option argument is required (use --help for help)"))
	}
	switch pos[0] {
	case "version":
		return Result{Stdout: []byte("ovs-vswitchd (Open vSwitch) " + ModelVersion + "\n")}
	case "list-commands":
		return Result{Stdout: []byte("The available commands are:\n  list-commands\n  version\n")}
	}
	return Result{
		Stderr:   []byte(fmt.Sprintf("\"%s\" is not a valid command (use \"list-commands\" to see a list of valid commands)\novs-appctl: ovs-vswitchd: server returned an error\n", pos[0])),
		ExitCode: 2,
	}
}
