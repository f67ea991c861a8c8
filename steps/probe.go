package steps

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts/ssh"
	"xenlab/provision"
)

// The proof of the tenant path with real frames, where the switches
// forward them (a XenServer host; the simulated host as root, whose dom0
// and domU are joined by real links). From dom0's integration bridge's own
// port, as a tenant VM's frames enter it (on the local VLAN, which NORMAL
// gives an access port's frames), `ovs-ofctl packet-out BRIDGE LOCAL
// table FRAME...` puts probeFrames broadcast frames through the bridge's
// flow table: NORMAL floods them over the patch link into the VM
// network's bridge, whose flow retags them with the segment's VLAN and
// floods them out of domU's VIF; in domU they arrive on eth1, cross to
// br-int, whose flow maps the segment back to domU's local VLAN, and
// leave by the DHCP port. `ovs-ofctl dump-ports` counts them at each of
// those ports, before and after, from the switch's point of view; the
// placeholder's port (VLAN 4095) must count none of them (a port counts
// its device's own traffic too, so fewer than probeFrames there are not
// the probe's: flooded, the frames reach a port all together or not at
// all). Nothing is changed: the
// frames carry IEEE 802's local experimental EtherType 0x88b5, which no
// process on a host answers, from neutron's base MAC with a suffix no port
// has (traceSrc), so at most a MAC-learning entry that ages out is left.
// packet-out is as old as Open vSwitch 1.x (ovs-ofctl(8): "packet-out
// switch in_port actions packet..."), dump-ports older still; a switch
// that lacks either (the simulator's model answers as ovs-ofctl does to a
// command it does not know) leaves the proof to ofproto/trace, then to
// the flows alone, and verify says which.

// probeFrames is how many frames the probe sends; every counter on the
// way must grow by at least as many (a port may count other traffic too).
const probeFrames = 8

// probePolls bounds the reads of domU's counters while the frames travel
// (a link and a second switch), probePollGap apart.
const (
	probePolls   = 10
	probePollGap = 100 * time.Millisecond
)

// probeFrame is one probe frame in hex: broadcast, from traceSrc, tagged
// with vlan, EtherType 0x88b5, the words "xenlab verify probe", padded to
// Ethernet's 60 bytes.
func probeFrame(vlan int) string {
	mac := func(s string) []byte { b, _ := hex.DecodeString(strings.ReplaceAll(s, ":", "")); return b }
	f := append(mac("ff:ff:ff:ff:ff:ff"), mac(traceSrc)...)
	f = append(f, 0x81, 0x00, byte(vlan>>8)&0x0f, byte(vlan))
	f = append(f, 0x88, 0xb5)
	f = append(f, "xenlab verify probe"...)
	for len(f) < 60 {
		f = append(f, 0)
	}
	return hex.EncodeToString(f)
}

// portCount is one port's counters from `ovs-ofctl dump-ports`.
type portCount struct {
	rx, tx, txDrop uint64
}

// parseDumpPorts reads `ovs-ofctl dump-ports BRIDGE` ("  port  2: rx
// pkts=N, ..." then "           tx pkts=N, bytes=N, drop=N, ..."), by the
// port's OpenFlow number, LOCAL, or name (newer switches quote names).
func parseDumpPorts(out string) (map[string]portCount, error) {
	m := map[string]portCount{}
	cur := ""
	field := func(s, key string) (uint64, bool) {
		i := strings.Index(s, key+"=")
		if i < 0 {
			return 0, false
		}
		v := s[i+len(key)+1:]
		if j := strings.IndexAny(v, ", "); j >= 0 {
			v = v[:j]
		}
		if v == "?" { // a counter the port does not keep
			return 0, true
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "port "):
			name, rest, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(t, "port ")), ":")
			if !ok {
				return nil, fmt.Errorf("ovs-ofctl dump-ports: %q", l)
			}
			cur = strings.Trim(name, `"`)
			rx, ok := field(rest, "pkts")
			if !ok {
				return nil, fmt.Errorf("ovs-ofctl dump-ports: %q", l)
			}
			m[cur] = portCount{rx: rx}
		case strings.HasPrefix(t, "tx ") && cur != "":
			c := m[cur]
			var ok bool
			if c.tx, ok = field(t, "pkts"); !ok {
				return nil, fmt.Errorf("ovs-ofctl dump-ports: %q", l)
			}
			c.txDrop, _ = field(t, "drop")
			m[cur] = c
		}
	}
	return m, nil
}

// counts reads the counters of one port of sw from a dump, by name or
// OpenFlow number.
func counts(dump map[string]portCount, sw ovsSwitch, port string) (portCount, bool) {
	if c, ok := dump[port]; ok {
		return c, true
	}
	c, ok := dump[sw.ports[port].ofport]
	return c, ok
}

// frameProof is what the probe found.
type frameProof struct {
	unavailable string // why no frame was sent: the proof is left to trace and flows
	proved      bool
	lines       []string
	errs        []error
}

// unsupported says whether a tool's answer means it lacks the command
// (ovs-ofctl's "unknown command", as the simulator's model answers too).
func unsupported(out string) bool {
	return strings.Contains(out, "unknown command") || strings.Contains(out, "not a valid command")
}

// proveWithFrames sends the probe from dom0's integration bridge intBr
// and counts it leaving the VM network's bridge vmBr on domU's VIF port,
// arriving on domU's nic (a port of physBr) and reaching the DHCP port on
// domU's domuInt; the placeholder's port must count none.
func proveWithFrames(ctx context.Context, dom0, domU *ssh.Client, sw0, swU ovsSwitch, intBr, vmBr string, l0 dom0Link,
	domuInt, physBr, nic string, lU domULink, segment int) frameProof {
	local, err := strconv.Atoi(l0.local)
	if err != nil || local < 1 || local > 4094 {
		return frameProof{unavailable: "no local VLAN to send on"}
	}
	var vifs []string // domU's (and any VM's) VIF ports on the VM network's bridge
	for _, p := range sw0.on(vmBr) {
		if p.xsVIF != "" {
			vifs = append(vifs, p.name)
		}
	}
	if len(vifs) == 0 {
		return frameProof{errs: []error{broken("dom0", vmBr, "domU's VIF port on the VM network's bridge, for the probe's frames to leave by", describe(sw0.on(vmBr)))}}
	}
	readU := func() (map[string]portCount, map[string]portCount, string, error) {
		cmd := "ovs-ofctl dump-ports " + ssh.ShellQuote(physBr) + " 2>&1; echo =int; ovs-ofctl dump-ports " + ssh.ShellQuote(domuInt) + " 2>&1; exit 0"
		res, err := domU.Run(ctx, cmd, ssh.Idempotent())
		if err != nil {
			return nil, nil, "", fmt.Errorf("domU: ovs-ofctl dump-ports: %w", err)
		}
		out := string(res.Stdout)
		if unsupported(out) {
			return nil, nil, firstLine(out), nil
		}
		phys, integ, _ := strings.Cut(out, "=int\n")
		p, err := parseDumpPorts(phys)
		if err != nil {
			return nil, nil, "", fmt.Errorf("domU: %w", err)
		}
		i, err := parseDumpPorts(integ)
		if err != nil {
			return nil, nil, "", fmt.Errorf("domU: %w", err)
		}
		return p, i, "", nil
	}
	physBefore, intBefore, no, err := readU()
	if err != nil {
		return frameProof{errs: []error{err}}
	}
	if no != "" {
		return frameProof{unavailable: "domU's switch: " + no}
	}
	frame := probeFrame(local)
	frames := strings.TrimSpace(strings.Repeat(frame+" ", probeFrames))
	q := ssh.ShellQuote
	cmd := "ovs-ofctl dump-ports " + q(vmBr) + " 2>&1; echo =int; ovs-ofctl dump-ports " + q(intBr) + " 2>&1; echo =send; " +
		"ovs-ofctl packet-out " + q(intBr) + " LOCAL table " + frames + " 2>&1; echo \"=rc $?\"; " +
		"ovs-ofctl dump-ports " + q(vmBr) + " 2>&1; echo =int; ovs-ofctl dump-ports " + q(intBr) + " 2>&1; exit 0"
	res, err := dom0.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return frameProof{errs: []error{fmt.Errorf("dom0: ovs-ofctl packet-out: %w", err)}}
	}
	before, after, _ := strings.Cut(string(res.Stdout), "=send\n")
	sent, after, _ := strings.Cut("\n"+after, "\n=rc ")
	rc, after, _ := strings.Cut(after, "\n")
	if unsupported(before) || unsupported(sent) {
		return frameProof{unavailable: "dom0's switch: " + firstLine(before+sent)}
	}
	if rc != "0" { // no frame went out: the path is not disproved, only not proved this way
		return frameProof{unavailable: fmt.Sprintf("dom0's switch: ovs-ofctl packet-out exited %s: %s", rc, strings.Join(strings.Fields(sent), " "))}
	}
	dump := func(s string) (map[string]portCount, map[string]portCount, error) {
		vm, integ, _ := strings.Cut(s, "=int\n")
		a, err := parseDumpPorts(vm)
		if err != nil {
			return nil, nil, err
		}
		b, err := parseDumpPorts(integ)
		return a, b, err
	}
	vm0, int0, err := dump(before)
	if err != nil {
		return frameProof{errs: []error{fmt.Errorf("dom0: %w", err)}}
	}
	vm1, int1, err := dump(after)
	if err != nil {
		return frameProof{errs: []error{fmt.Errorf("dom0: %w", err)}}
	}
	delta := func(a, b map[string]portCount, sw ovsSwitch, port string, f func(portCount) uint64) uint64 {
		x, ok1 := counts(a, sw, port)
		y, ok2 := counts(b, sw, port)
		if !ok1 || !ok2 || f(y) < f(x) {
			return 0
		}
		return f(y) - f(x)
	}
	out := func(c portCount) uint64 { return c.tx + c.txDrop } // forwarded to the port, taken or not by its device
	in := func(c portCount) uint64 { return c.rx }

	var p frameProof
	left := uint64(0)
	for _, v := range vifs {
		left += delta(vm0, vm1, sw0, v, func(c portCount) uint64 { return c.tx })
	}
	from := fmt.Sprintf("%d frames sent by ovs-ofctl packet-out from %s's own port on local VLAN %d", probeFrames, intBr, local)
	if left < probeFrames {
		p.errs = append(p.errs, broken("dom0", vmBr, fmt.Sprintf("the %s to leave on domU's VIF port (%s) with VLAN %d", from, strings.Join(vifs, ", "), segment),
			fmt.Sprintf("%d frames sent out of it", left)))
	}
	// The probe's frames are flooded together: a port on their VLAN counts
	// all of them. Fewer are the port's own traffic (its device's), not
	// the probe's.
	placeholderOther := uint64(0)
	if l0.placeholder != "" {
		if n := delta(int0, int1, sw0, l0.placeholder, out); n >= probeFrames {
			p.errs = append(p.errs, broken("dom0", intBr, fmt.Sprintf("the placeholder's port %s (VLAN %s) to carry none of the %s", l0.placeholder, DeadVLAN, from),
				fmt.Sprintf("%d frames sent to it", n)))
		} else {
			placeholderOther = n
		}
	}
	if len(p.errs) > 0 {
		return p
	}
	// domU: the frames travel a link and another switch; bounded reads.
	var arrived, reached uint64
	for i := 0; i < probePolls; i++ {
		if i > 0 {
			t := time.NewTimer(probePollGap)
			select {
			case <-ctx.Done():
				t.Stop()
				return frameProof{errs: []error{ctx.Err()}}
			case <-t.C:
			}
		}
		physAfter, intAfter, no, err := readU()
		if err != nil || no != "" {
			return frameProof{errs: []error{fmt.Errorf("domU: reading the probe's counters: %v%s", err, no)}}
		}
		arrived = delta(physBefore, physAfter, swU, nic, in)
		reached = delta(intBefore, intAfter, swU, lU.dhcp.name, out)
		if reached >= probeFrames {
			break
		}
	}
	switch {
	case arrived < probeFrames:
		p.errs = append(p.errs, broken("domU", physBr, fmt.Sprintf("the %s, which left dom0 on %s, to arrive on %s", from, strings.Join(vifs, ", "), nic),
			fmt.Sprintf("%d frames received on it", arrived)))
	case reached < probeFrames:
		p.errs = append(p.errs, broken("domU", domuInt, fmt.Sprintf("the %s, which arrived on %s with VLAN %d, to reach the DHCP port %s on local VLAN %s",
			from, nic, segment, lU.dhcp.name, lU.local), fmt.Sprintf("%d frames sent to it", reached)))
	default:
		p.proved = true
		line := fmt.Sprintf("dom0 %s to domU %s: real frames: %s left %s on %s (%d), arrived on domU's %s (%d) and reached the DHCP port %s (%d)",
			intBr, domuInt, from, vmBr, strings.Join(vifs, ", "), left, nic, arrived, lU.dhcp.name, reached)
		if l0.placeholder != "" {
			line += fmt.Sprintf("; the placeholder's port %s (VLAN %s) carried none of them", l0.placeholder, DeadVLAN)
			if placeholderOther > 0 {
				line += fmt.Sprintf(" (%d frames of its device's own)", placeholderOther)
			}
		}
		p.lines = append(p.lines, line)
	}
	return p
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// report writes what the probe proved, or why the proof is ofproto/
// trace's or the flows', and returns its failures.
func (p frameProof) report(out provision.Output) []error {
	for _, l := range p.lines {
		out.Line("%s", l)
	}
	if p.unavailable != "" {
		out.Line("the tenant path is not proved with real frames (%s): the proof above is ofproto/trace's where the switches answer it, else the flows'", p.unavailable)
	}
	return p.errs
}

// decided says whether the frames proved the path or showed it broken:
// then no trace is needed.
func (p frameProof) decided() bool { return p.proved || len(p.errs) > 0 }
