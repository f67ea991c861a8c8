package ovs

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// defaultPriority is OpenFlow's default flow priority; ovs-ofctl omits it
// when printing.
const defaultPriority = 32768

// matchField is one field of a flow's match, with its canonical value.
type matchField struct{ key, val string }

// flow is one OpenFlow flow entry.
type flow struct {
	table       int
	priority    int
	cookie      uint64
	idleTimeout int
	hardTimeout int
	match       []matchField // canonical order, see matchOrder
	actions     string       // as ovs-ofctl prints them
	created     time.Time
	modified    time.Time // last mod-flows, zero if never
	seq         uint64    // insertion order
}

// matchOrder is the order in which ovs-ofctl prints match fields.
var matchOrder = []string{"in_port", "dl_vlan", "dl_vlan_pcp", "dl_src", "dl_dst", "dl_type", "nw_src", "nw_dst", "nw_proto", "nw_tos", "tp_src", "tp_dst"}

// protoShorthand maps the protocol keywords to the fields they set.
var protoShorthand = map[string][]matchField{
	"ip":   {{"dl_type", "0x0800"}},
	"arp":  {{"dl_type", "0x0806"}},
	"rarp": {{"dl_type", "0x8035"}},
	"ipv6": {{"dl_type", "0x86dd"}},
	"icmp": {{"dl_type", "0x0800"}, {"nw_proto", "1"}},
	"tcp":  {{"dl_type", "0x0800"}, {"nw_proto", "6"}},
	"udp":  {{"dl_type", "0x0800"}, {"nw_proto", "17"}},
	"sctp": {{"dl_type", "0x0800"}, {"nw_proto", "132"}},
}

// flowSpec is a parsed flow argument: a match with its qualifiers, and
// actions when the command takes them.
type flowSpec struct {
	flow
	hasTable, hasPriority bool
	cookieMask            uint64
	hasCookie             bool
	hasActions            bool
}

// parseFlow parses an ovs-ofctl flow argument against bridge b (port
// names resolve to its OpenFlow port numbers).
func parseFlow(b *bridge, s string, wantActions bool) (*flowSpec, error) {
	spec := &flowSpec{flow: flow{priority: defaultPriority}}
	matchPart, actPart := s, ""
	if i := strings.Index(s, "actions="); i >= 0 {
		matchPart, actPart = s[:i], s[i+len("actions="):]
		spec.hasActions = true
	}
	if wantActions && !spec.hasActions {
		return nil, failf("must specify an action")
	}
	if !wantActions && spec.hasActions {
		return nil, failf("unknown keyword actions")
	}
	fields := map[string]string{}
	for _, tok := range strings.FieldsFunc(matchPart, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		key, val, hasVal := strings.Cut(tok, "=")
		if !hasVal {
			if key == "actions" {
				continue
			}
			fs, ok := protoShorthand[key]
			if !ok {
				return nil, failf("unknown keyword %s", key)
			}
			for _, f := range fs {
				fields[f.key] = f.val
			}
			continue
		}
		if err := spec.setField(b, fields, key, val); err != nil {
			return nil, err
		}
	}
	for _, k := range matchOrder {
		if v, ok := fields[k]; ok {
			spec.match = append(spec.match, matchField{k, v})
		}
	}
	if spec.hasActions {
		acts, err := parseActions(b, actPart)
		if err != nil {
			return nil, err
		}
		spec.actions = acts
	}
	return spec, nil
}

func (spec *flowSpec) setField(b *bridge, fields map[string]string, key, val string) error {
	num := func(bits int) (uint64, error) {
		n, err := strconv.ParseUint(val, 0, bits)
		if err != nil {
			return 0, failf("invalid %s \"%s\"", key, val)
		}
		return n, nil
	}
	switch key {
	case "priority":
		n, err := num(16)
		if err != nil {
			return err
		}
		spec.priority, spec.hasPriority = int(n), true
	case "table":
		n, err := num(8)
		if err != nil {
			return err
		}
		spec.table, spec.hasTable = int(n), true
	case "idle_timeout", "hard_timeout":
		n, err := num(16)
		if err != nil {
			return err
		}
		if key == "idle_timeout" {
			spec.idleTimeout = int(n)
		} else {
			spec.hardTimeout = int(n)
		}
	case "cookie":
		v, mask, hasMask := strings.Cut(val, "/")
		c, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			return failf("invalid cookie \"%s\"", val)
		}
		spec.cookie, spec.hasCookie, spec.cookieMask = c, true, ^uint64(0)
		if hasMask {
			if mask == "-1" {
				spec.cookieMask = ^uint64(0)
			} else if spec.cookieMask, err = strconv.ParseUint(mask, 0, 64); err != nil {
				return failf("invalid cookie mask \"%s\"", mask)
			}
		}
	case "in_port":
		p, err := resolvePort(b, val)
		if err != nil {
			return failf("%s: invalid or unknown port for in_port", val)
		}
		fields[key] = p
	case "dl_vlan":
		n, err := num(16)
		if err != nil {
			return err
		}
		fields[key] = strconv.FormatUint(n&0xfff, 10)
	case "dl_vlan_pcp", "nw_proto", "nw_tos":
		n, err := num(8)
		if err != nil {
			return err
		}
		fields[key] = strconv.FormatUint(n, 10)
	case "tp_src", "tp_dst":
		n, err := num(16)
		if err != nil {
			return err
		}
		fields[key] = strconv.FormatUint(n, 10)
	case "dl_type":
		n, err := num(16)
		if err != nil {
			return err
		}
		fields[key] = fmt.Sprintf("0x%04x", n)
	case "dl_src", "dl_dst":
		if len(strings.Split(val, ":")) != 6 {
			return failf("%s: invalid Ethernet address", val)
		}
		fields[key] = strings.ToLower(val)
	case "nw_src", "nw_dst":
		c, err := canonicalIPv4(val)
		if err != nil {
			return failf("%s: could not convert to IP address", val)
		}
		fields[key] = c
	default:
		return failf("unknown keyword %s", key)
	}
	return nil
}

// canonicalIPv4 prints an address or prefix as ovs-ofctl does: a /32 as the
// bare address, other prefixes masked to their network.
func canonicalIPv4(v string) (string, error) {
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return "", fmt.Errorf("bad address %q", v)
		}
		return a.String(), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() {
		return "", fmt.Errorf("bad prefix %q", v)
	}
	if p.Bits() == 32 {
		return p.Addr().String(), nil
	}
	return p.Masked().String(), nil
}

// resolvePort turns a port number, a reserved port name or a port name
// on b into what ovs-ofctl prints: a number or LOCAL/IN_PORT/...
func resolvePort(b *bridge, v string) (string, error) {
	switch strings.ToUpper(v) {
	case "LOCAL", "IN_PORT", "NORMAL", "FLOOD", "ALL", "CONTROLLER", "NONE", "ANY":
		return strings.ToUpper(v), nil
	}
	if n, err := strconv.ParseUint(v, 10, 16); err == nil {
		if n == 65534 {
			return "LOCAL", nil
		}
		return strconv.FormatUint(n, 10), nil
	}
	if b != nil {
		if b.strs["name"] == v {
			return "LOCAL", nil
		}
		if n, ok := b.ofport(v); ok {
			return strconv.FormatInt(n, 10), nil
		}
	}
	return "", fmt.Errorf("unknown port %q", v)
}

// parseActions parses an action list and prints it as ovs-ofctl does.
func parseActions(b *bridge, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "drop", nil
	}
	var out []string
	for _, a := range splitTopLevel(s, ',') {
		a = strings.TrimSpace(a)
		name, arg, hasArg := strings.Cut(a, ":")
		lname := strings.ToLower(name)
		switch {
		case !hasArg && (lname == "normal" || lname == "flood" || lname == "all" || lname == "local" || lname == "in_port"):
			out = append(out, strings.ToUpper(lname))
		case !hasArg && lname == "controller":
			out = append(out, "CONTROLLER:65535")
		case !hasArg && lname == "drop":
			out = append(out, "drop")
		case !hasArg && (lname == "strip_vlan" || lname == "pop_vlan"):
			out = append(out, "strip_vlan")
		case lname == "output" && hasArg:
			p, err := resolvePort(b, arg)
			if err != nil {
				return "", failf("%s: output to unknown port", arg)
			}
			if _, numeric := strconv.Atoi(p); numeric == nil {
				out = append(out, "output:"+p)
			} else {
				out = append(out, p)
			}
		case hasArg && (lname == "mod_vlan_vid" || lname == "mod_vlan_pcp"):
			n, err := strconv.ParseUint(arg, 0, 16)
			if err != nil {
				return "", failf("%s: invalid argument to %s", arg, lname)
			}
			out = append(out, fmt.Sprintf("%s:%d", lname, n))
		case hasArg && (lname == "mod_dl_src" || lname == "mod_dl_dst"):
			out = append(out, lname+":"+strings.ToLower(arg))
		case strings.HasPrefix(lname, "resubmit"):
			out = append(out, a)
		default:
			if n, err := strconv.ParseUint(a, 10, 16); err == nil && !hasArg {
				out = append(out, fmt.Sprintf("output:%d", n))
				continue
			}
			return "", failf("unknown action %s", a)
		}
	}
	return strings.Join(out, ","), nil
}

// matchString prints a flow's priority and match as ovs-ofctl does.
func (f *flow) matchString() string {
	var parts []string
	if f.priority != defaultPriority {
		parts = append(parts, "priority="+strconv.Itoa(f.priority))
	}
	fields := map[string]string{}
	for _, m := range f.match {
		fields[m.key] = m.val
	}
	for _, name := range []string{"tcp", "udp", "icmp", "sctp", "ip", "arp", "rarp", "ipv6"} {
		fs := protoShorthand[name]
		ok := len(fs) > 0
		for _, x := range fs {
			ok = ok && fields[x.key] == x.val
		}
		if ok {
			parts = append(parts, name)
			for _, x := range fs {
				delete(fields, x.key)
			}
			break
		}
	}
	for _, k := range matchOrder {
		if v, ok := fields[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// dumpLine prints one flow as `ovs-ofctl dump-flows` does; sorted dumps
// (--sort, --rsort) leave out idle_age.
func (f *flow) dumpLine(now time.Time, withAge bool) string {
	age := now.Sub(f.created)
	if age < 0 {
		age = 0
	}
	var b strings.Builder
	fmt.Fprintf(&b, " cookie=0x%x, duration=%.3fs, table=%d, n_packets=0, n_bytes=0, ", f.cookie, age.Seconds(), f.table)
	if f.idleTimeout != 0 {
		fmt.Fprintf(&b, "idle_timeout=%d, ", f.idleTimeout)
	}
	if f.hardTimeout != 0 {
		fmt.Fprintf(&b, "hard_timeout=%d, ", f.hardTimeout)
	}
	if withAge {
		fmt.Fprintf(&b, "idle_age=%d, ", int(age.Seconds()))
	}
	if !f.modified.IsZero() {
		// OVS prints hard_age, the seconds since the last modification,
		// when it differs from the flow's age in whole seconds.
		if hard := int(now.Sub(f.modified).Seconds()); hard != int(age.Seconds()) {
			fmt.Fprintf(&b, "hard_age=%d, ", hard)
		}
	}
	if m := f.matchString(); m != "" {
		b.WriteString(m + " ")
	}
	b.WriteString("actions=" + f.actions)
	return b.String()
}

// noStatsLine prints one flow as `ovs-ofctl --no-stats dump-flows` does.
func (f *flow) noStatsLine() string {
	var parts []string
	if f.cookie != 0 {
		parts = append(parts, fmt.Sprintf("cookie=0x%x", f.cookie))
	}
	if f.table != 0 {
		parts = append(parts, fmt.Sprintf("table=%d", f.table))
	}
	if f.idleTimeout != 0 {
		parts = append(parts, fmt.Sprintf("idle_timeout=%d", f.idleTimeout))
	}
	if f.hardTimeout != 0 {
		parts = append(parts, fmt.Sprintf("hard_timeout=%d", f.hardTimeout))
	}
	var b strings.Builder
	b.WriteString(" ")
	if len(parts) > 0 {
		b.WriteString(strings.Join(parts, ", ") + ", ")
	}
	if m := f.matchString(); m != "" {
		b.WriteString(m + " ")
	}
	b.WriteString("actions=" + f.actions)
	return b.String()
}

// covers reports whether flow f falls under spec (non-strict: every field
// of spec is in f with the same value; strict: same match and priority).
func (spec *flowSpec) covers(f *flow, strict bool) bool {
	if spec.hasTable && spec.table != f.table {
		return false
	}
	if spec.hasCookie && (f.cookie&spec.cookieMask) != (spec.cookie&spec.cookieMask) {
		return false
	}
	if strict {
		return spec.priority == f.priority && spec.matchString() == f.matchString()
	}
	have := map[string]string{}
	for _, m := range f.match {
		have[m.key] = m.val
	}
	for _, m := range spec.match {
		if v, ok := have[m.key]; !ok || v != m.val {
			return false
		}
	}
	return true
}
