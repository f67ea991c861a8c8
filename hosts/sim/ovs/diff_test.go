package ovs

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// diffSequence is what xenlab does on dom0 and what the devstack stand-in
// does on domU, with the reads that check it and the errors it can meet.
var diffSequence = []string{
	// dom0: the integration network's bridge and the placeholder VIF.
	"ovs-vsctl --timeout=10 add-br xapi1",
	"ovs-vsctl --timeout=10 br-exists xapi1",
	"ovs-vsctl --timeout=10 add-port xapi1 vif3.3 -- set Interface vif3.3 type=internal",
	"ovs-vsctl --timeout=10 set Interface vif3.3 external_ids:xs-vif-uuid=0c0f4e47-1111-2222-3333-444455556666 external_ids:xs-vm-uuid=vm-1 external_ids:attached-mac=\"aa:bb:cc:dd:ee:ff\"",
	"ovs-vsctl --timeout=10 --bare --columns=name find Interface external_ids:xs-vif-uuid=0c0f4e47-1111-2222-3333-444455556666",
	"ovs-vsctl --timeout=10 --bare --columns=name find Interface external_ids:xs-vif-uuid=none",
	"ovs-vsctl --timeout=10 set Port vif3.3 tag=4095",
	"ovs-vsctl --timeout=10 get Port vif3.3 tag",
	"ovs-vsctl --timeout=10 get Interface vif3.3 external_ids",
	"ovs-vsctl --timeout=10 get Interface vif3.3 external_ids:xs-vm-uuid",
	"ovs-vsctl --timeout=10 get Interface vif3.3 external_ids:nokey",
	"ovs-vsctl --timeout=10 list-ports xapi1",
	"ovs-vsctl --timeout=10 port-to-br vif3.3",
	"ovs-vsctl --timeout=10 list Port vif3.3",
	"ovs-vsctl --timeout=10 --columns=name,type,ofport,external_ids,options list Interface vif3.3",
	"ovs-vsctl --timeout=10 --columns=_uuid,bfd,cfm_mpid,error,ingress_policing_rate,lldp,mac_in_use,mtu_request,ofport_request,other_config list Interface vif3.3",
	"ovs-ofctl show xapi1",
	"ovs-ofctl dump-flows xapi1",
	// domU: the agent's bridges, the patch link and the VLAN flows.
	"ovs-vsctl --timeout=10 --may-exist add-br br-int",
	"ovs-vsctl --timeout=10 --may-exist add-br br-int",
	"ovs-vsctl --timeout=10 --may-exist add-br br-eth1",
	"ovs-vsctl --timeout=10 add-port br-eth1 eth1",
	"ovs-vsctl --timeout=10 add-port br-int int-br-eth1 -- set Interface int-br-eth1 type=patch options:peer=phy-br-eth1",
	"ovs-vsctl --timeout=10 get Interface int-br-eth1 error",
	"ovs-vsctl --timeout=10 show",
	"ovs-vsctl --timeout=10 add-port br-eth1 phy-br-eth1 -- set Interface phy-br-eth1 type=patch options:peer=int-br-eth1",
	"ovs-vsctl --timeout=10 add-port br-int tap1 tag=1 -- set Interface tap1 type=internal",
	"ovs-vsctl --timeout=10 set Port tap1 trunks=1,2,3",
	"ovs-vsctl --timeout=10 br-set-external-id br-int bridge-id br-int",
	"ovs-vsctl --timeout=10 br-get-external-id br-int bridge-id",
	"ovs-vsctl --timeout=10 br-get-external-id br-int",
	"ovs-vsctl --timeout=10 get Interface int-br-eth1 options:peer",
	"ovs-vsctl --timeout=10 get Interface int-br-eth1 ofport",
	"ovs-vsctl --timeout=10 get Port tap1 trunks",
	"ovs-vsctl --timeout=10 list-br",
	"ovs-vsctl --timeout=10 list-ports br-int",
	"ovs-vsctl --timeout=10 show",
	"ovs-ofctl del-flows br-int",
	"ovs-ofctl add-flow br-int priority=1,actions=normal",
	"ovs-ofctl add-flow br-int 'priority=3,in_port=int-br-eth1,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL'",
	"ovs-ofctl add-flow br-int 'priority=2,in_port=int-br-eth1 actions=drop'",
	"ovs-ofctl add-flow br-eth1 'priority=4,in_port=1,dl_vlan=1 actions=mod_vlan_vid:1000,NORMAL'",
	"ovs-ofctl add-flow br-eth1 'priority=2,in_port=phy-br-eth1 actions=drop'",
	"ovs-ofctl add-flow br-int 'cookie=0x5,priority=7,tcp,nw_dst=10.1.2.3/16,tp_dst=80,dl_vlan=5000 actions=strip_vlan,output:1'",
	"ovs-ofctl add-flow br-int 'idle_timeout=30,arp actions=output:in_port,flood'",
	"ovs-ofctl dump-flows br-int",
	"ovs-ofctl dump-flows br-eth1",
	"ovs-ofctl dump-flows br-int in_port=int-br-eth1",
	"ovs-ofctl mod-flows br-int 'in_port=int-br-eth1,dl_vlan=1000 actions=mod_vlan_vid:2,NORMAL'",
	"ovs-ofctl mod-flows br-int 'priority=6,in_port=LOCAL actions=drop'",
	"ovs-ofctl del-flows br-int cookie=0x5/-1",
	"ovs-ofctl --strict del-flows br-int 'priority=2,in_port=int-br-eth1'",
	"ovs-ofctl dump-flows br-int",
	"ovs-ofctl show br-int",
	"ovs-ofctl show br-eth1",
	// OpenFlow port numbers after ports come and go.
	"ovs-vsctl --timeout=10 del-port br-int tap1",
	"ovs-vsctl --timeout=10 add-port br-int tap9 -- set Interface tap9 type=internal",
	"ovs-vsctl --timeout=10 add-port br-int tap1 -- set Interface tap1 type=internal -- set Port tap1 tag=1",
	"ovs-vsctl --timeout=10 --bare --columns=name,ofport find Interface type=internal",
	"ovs-ofctl show br-int",
	"ovs-vsctl --timeout=10 add-br br-y -- add-br br-y",
	"ovs-vsctl --timeout=10 br-exists br-y",
	"ovs-vsctl --timeout=10 add-port br-int p5 -- set Port p5 tag=5000",
	"ovs-vsctl --timeout=10 list-ports br-int",
	"ovs-vsctl --timeout=10 --oneline list-br -- list-ports xapi1",
	"ovs-vsctl --timeout=10 remove Port tap1 tag 1 -- get Port tap1 tag",
	"ovs-vsctl --timeout=10 set Bridge br-int other_config:mac-table-size=2048 -- get Bridge br-int other_config datapath_type",
	"ovs-vsctl --timeout=10 find Port tag=1",
	// Other output formats.
	"ovs-vsctl --timeout=10 set Interface tap1 external_ids:iface-id=abc external_ids:attached-mac=\"aa:bb:cc:dd:ee:ff\"",
	"ovs-vsctl --timeout=10 set Port tap1 trunks=[3,1,2,1]",
	"ovs-vsctl --timeout=10 set Port tap1 trunks=[3,1,2]",
	"ovs-vsctl --timeout=10 --format=json -- --columns=name,external_ids,ofport list Interface",
	"ovs-vsctl --timeout=10 --format=json --columns=name,tag,trunks,_uuid,vlan_mode,interfaces find Port name=tap1",
	"ovs-vsctl --timeout=10 -f json list Port tap1",
	"ovs-vsctl --timeout=10 --bare --columns=name,external_ids,trunks,tag list Port tap1",
	"ovs-ofctl add-flow br-int actions=drop",
	"ovs-ofctl add-flow br-int 'table=2,cookie=0x9,hard_timeout=60,priority=4,dl_vlan=3 actions=NORMAL'",
	"ovs-ofctl --no-stats dump-flows br-int",
	"ovs-ofctl --rsort dump-flows br-int",
	"ovs-ofctl --sort dump-flows br-int",
	"ovs-ofctl dump-flows br-int",
	// Versions and fail modes.
	"ovs-vsctl --version",
	"ovs-ofctl --version",
	"ovs-appctl --version",
	"ovs-vsctl --timeout=10 get-fail-mode br-int",
	"ovs-vsctl --timeout=10 set-fail-mode br-int secure",
	"ovs-vsctl --timeout=10 get-fail-mode br-int",
	"ovs-ofctl dump-flows br-int",
	"ovs-vsctl --timeout=10 set-fail-mode br-int closed",
	"ovs-vsctl --timeout=10 get Bridge br-int fail_mode",
	"ovs-vsctl --timeout=10 show",
	"ovs-vsctl --timeout=10 del-fail-mode br-int",
	"ovs-vsctl --timeout=10 get-fail-mode br-x",
	"ovs-vsctl --timeout=10 add-br br-s -- set-fail-mode br-s secure",
	"ovs-ofctl dump-flows br-s",
	"ovs-vsctl --timeout=10 set Bridge br-s fail_mode=standalone",
	"ovs-ofctl dump-flows br-s",
	"ovs-vsctl --timeout=10 del-br br-s",
	"ovs-ofctl dump-flows br-int table=0",
	// Errors as the tools print them.
	"ovs-vsctl --timeout=10 del-port br-int br-int",
	"ovs-vsctl --timeout=10 add-port br-int br-int",
	"ovs-vsctl --timeout=10 br-exists br-x",
	"ovs-vsctl --timeout=10 list-ports br-x",
	"ovs-vsctl --timeout=10 del-br br-x",
	"ovs-vsctl --timeout=10 --if-exists del-br br-x",
	"ovs-vsctl --timeout=10 add-port br-x p1",
	"ovs-vsctl --timeout=10 add-br xapi1",
	"ovs-vsctl --timeout=10 add-port br-int int-br-eth1",
	"ovs-vsctl --timeout=10 del-port br-int nosuch",
	"ovs-vsctl --timeout=10 --if-exists del-port br-int nosuch",
	"ovs-vsctl --timeout=10 port-to-br nosuch",
	"ovs-vsctl --timeout=10 get Port nosuch tag",
	"ovs-vsctl --timeout=10 get Port tap1 nocolumn",
	"ovs-vsctl --timeout=10 set Port tap1 tag=5000",
	"ovs-vsctl --timeout=10 frob",
	"ovs-vsctl --timeout=10 add-port br-int pp -- set Interface pp type=patch",
	"ovs-ofctl dump-flows br-x",
	"ovs-ofctl show br-x",
	"ovs-ofctl add-flow br-int 'priority=3,in_port=nosuch actions=drop'",
	"ovs-ofctl add-flow br-int 'priority=3,bogus=1 actions=drop'",
	"ovs-ofctl add-flow br-int 'priority=5 actions=frob'",
	"ovs-ofctl add-flow br-int priority=5",
	"ovs-ofctl frob br-int",
	"ovs-appctl version",
	"ovs-appctl frob",
	// Teardown.
	"ovs-vsctl --timeout=10 clear Port vif3.3 tag",
	"ovs-vsctl --timeout=10 get Port vif3.3 tag",
	"ovs-vsctl --timeout=10 del-port xapi1 vif3.3",
	"ovs-vsctl --timeout=10 del-br br-eth1",
	"ovs-vsctl --timeout=10 get Interface int-br-eth1 ofport",
	// Not read here: int-br-eth1's error column while its peer is gone.
	// ovs-vswitchd sets "No usable peer" when it next re-checks the patch
	// port, which del-br does not always cause: on CI the real switch kept
	// [] for over ten seconds, on other runs it set the error at once.
	"ovs-vsctl --timeout=10 list-ports br-int",
	"ovs-vsctl --timeout=10 add-br br-eth1",
	"ovs-vsctl --timeout=10 add-port br-eth1 phy-br-eth1 -- set Interface phy-br-eth1 type=patch options:peer=int-br-eth1",
	"ovs-vsctl --timeout=10 get Interface int-br-eth1 error",
	"ovs-vsctl --timeout=10 --columns=name,ofport,error list Interface int-br-eth1 phy-br-eth1",
}

// splitLine splits a command line on spaces, honouring single quotes.
func splitLine(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			inQ, have = !inQ, true
		case r == ' ' && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

var (
	reUUID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reMAC      = regexp.MustCompile(`(addr:|mac_in_use\s+: ")[0-9a-f]{2}(:[0-9a-f]{2}){5}`)
	reDPID     = regexp.MustCompile(`dpid:[0-9a-f]{16}`)
	reDuration = regexp.MustCompile(`duration=[0-9.]+s`)
	reAge      = regexp.MustCompile(`idle_age=[0-9]+`)
	reHardAge  = regexp.MustCompile(`hard_age=[0-9]+, `)
	reStats    = regexp.MustCompile(`n_packets=[0-9]+, n_bytes=[0-9]+`)
	reVersion  = regexp.MustCompile(`(ovs_version: |Open vSwitch\) )"?[0-9.]+"?`)
	reSchema   = regexp.MustCompile(`DB Schema [0-9.]+`)
	reLogDir   = regexp.MustCompile(`default log directory is "[^"]*"`)
	reAppctl   = regexp.MustCompile(`ovs-appctl: [^:]*: server returned an error`)
)

// normalise makes outputs of two switches comparable: identifiers, MACs,
// timings, counters and versions are replaced by placeholders; `show`
// blocks (real OVS orders them by UUID) are sorted.
func normalise(line, out string) string {
	out = reUUID.ReplaceAllString(out, "<uuid>")
	out = reMAC.ReplaceAllString(out, "${1}<mac>")
	out = reDPID.ReplaceAllString(out, "dpid:<dpid>")
	out = reDuration.ReplaceAllString(out, "duration=<d>")
	out = reAge.ReplaceAllString(out, "idle_age=<a>")
	out = reHardAge.ReplaceAllString(out, "")
	out = reStats.ReplaceAllString(out, "n_packets=<n>, n_bytes=<n>")
	out = reVersion.ReplaceAllString(out, "${1}<version>")
	out = reSchema.ReplaceAllString(out, "DB Schema <version>")
	out = reLogDir.ReplaceAllString(out, `default log directory is "<dir>"`)
	out = reAppctl.ReplaceAllString(out, "ovs-appctl: <target>: server returned an error")
	if strings.HasSuffix(line, " show") {
		out = sortShow(out)
	}
	if strings.Contains(line, " find ") || strings.Contains(line, " list ") {
		if strings.HasPrefix(out, "{") {
			out = sortJSONRows(out)
		} else {
			out = sortRecords(out)
		}
	}
	if strings.Contains(line, "dump-flows") && !strings.Contains(line, "sort") {
		out = sortFlowLines(out)
	}
	return out
}

// sortRecords sorts the blank-line separated records of `find` and `list`
// (real OVS lists them in UUID order).
func sortRecords(out string) string {
	if out == "" {
		return out
	}
	recs := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
	sort.Strings(recs)
	return strings.Join(recs, "\n\n") + "\n"
}

// sortJSONRows sorts the data rows of --format=json output.
func sortJSONRows(out string) string {
	var v struct {
		Data     []json.RawMessage `json:"data"`
		Headings []string          `json:"headings"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return "unparsable JSON: " + out
	}
	sort.Slice(v.Data, func(i, j int) bool { return string(v.Data[i]) < string(v.Data[j]) })
	b, _ := json.Marshal(v)
	return string(b) + "\n"
}

// sortFlowLines sorts the flow lines of dump-flows: OVS lists them in
// classifier order, which need not follow priority.
func sortFlowLines(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	start := 0
	if len(lines) > 0 && strings.HasPrefix(lines[0], "NXST_FLOW") {
		start = 1
	}
	sort.Strings(lines[start:])
	return strings.Join(lines, "\n") + "\n"
}

// sortShow sorts the Bridge blocks of `ovs-vsctl show` and the Port
// blocks within each.
func sortShow(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 {
		return out
	}
	var head, foot []string
	var bridges [][]string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "    Bridge "):
			bridges = append(bridges, []string{l})
		case strings.HasPrefix(l, "        ") && len(bridges) > 0:
			bridges[len(bridges)-1] = append(bridges[len(bridges)-1], l)
		case len(bridges) == 0:
			head = append(head, l)
		default:
			foot = append(foot, l)
		}
	}
	var blocks []string
	for _, b := range bridges {
		var attrs []string
		var ports [][]string
		for _, l := range b[1:] {
			if strings.HasPrefix(l, "        Port ") {
				ports = append(ports, []string{l})
			} else if len(ports) > 0 {
				ports[len(ports)-1] = append(ports[len(ports)-1], l)
			} else {
				attrs = append(attrs, l)
			}
		}
		var ps []string
		for _, p := range ports {
			ps = append(ps, strings.Join(p, "\n"))
		}
		sort.Strings(ps)
		blocks = append(blocks, strings.Join(append(append([]string{b[0]}, attrs...), ps...), "\n"))
	}
	sort.Strings(blocks)
	return strings.Join(append(append(head, blocks...), foot...), "\n") + "\n"
}

// transcript runs the sequence on sw, through Exec or through its BinDir
// tools under /bin/sh, and returns one normalised record per step.
// runStep runs one command line on a switch, through Exec or through its
// BinDir tools under /bin/sh, and returns its normalised record.
func runStep(t *testing.T, sw Switch, line string, viaShell bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r Result
	if viaShell {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line)
		cmd.Env = []string{"PATH=" + sw.BinDir() + ":/usr/bin:/bin"}
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		r = Result{Stdout: []byte(so.String()), Stderr: []byte(se.String())}
		if ee, ok := err.(*exec.ExitError); ok {
			r.ExitCode = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	} else {
		var err error
		r, err = sw.Exec(ctx, splitLine(line), nil)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	return "$ " + line + "\n" + normalise(line, string(r.Stdout)) + "stderr:\n" + normalise(line, string(r.Stderr)) +
		"exit: " + strconv.Itoa(r.ExitCode) + "\n"
}

// reReadable are the command lines that only read the switch. Real
// ovs-vswitchd writes status columns (Interface error, ofport) in a
// transaction of its own after a reconfiguration that ovs-vsctl waited
// for, so on a busy machine a read can come before it: such a step is read
// again on the real switch, for a bounded time, until it settles.
var reReadable = regexp.MustCompile(`^ovs-(vsctl( --timeout=10)?( --\S+)* (get|list|show|find|list-br|list-ports|list-ifaces|port-to-br|iface-to-br|br-exists)\b|ofctl( --\S+)* (show|dump-flows)\b)`)

// differential runs the sequence step by step on both switches and reports
// every step whose normalised outputs differ once the real switch settled.
func differential(t *testing.T, real, model Switch, viaShell bool) {
	t.Helper()
	for i, line := range diffSequence {
		m := runStep(t, model, line, viaShell)
		r := runStep(t, real, line, viaShell)
		if reReadable.MatchString(line) {
			for deadline := time.Now().Add(5 * time.Second); r != m && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
				r = runStep(t, real, line, viaShell)
			}
		}
		if r != m {
			t.Errorf("step %d differs:\n--- real\n%s--- model\n%s", i, r, m)
		}
	}
}

// openPair opens a real and a modelled switch, or skips when real OVS
// cannot run here.
func openPair(t *testing.T) (real, model Switch) {
	t.Helper()
	if err := RealAvailable(); err != nil {
		t.Skipf("differential test needs real Open vSwitch: %v", err)
	}
	ctx := context.Background()
	r, err := Open(ctx, t.TempDir(), ModeReal)
	if err != nil {
		t.Fatalf("open real switch: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close real switch: %v", err)
		}
	})
	m, err := Open(ctx, t.TempDir(), ModeModel)
	if err != nil {
		t.Fatalf("open model switch: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	for _, sw := range []Switch{r, m} {
		if err := sw.(Linker).AddLink(ctx, "eth1"); err != nil {
			t.Fatal(err)
		}
	}
	return r, m
}

// TestDifferentialExec runs xenlab's and the agents' commands through Exec
// on a real switch and on the model and compares the normalised outputs.
func TestDifferentialExec(t *testing.T) {
	real, model := openPair(t)
	differential(t, real, model, false)
}

// TestDifferentialShell does the same through the BinDir tools run by
// /bin/sh, as a host's shell runs them.
func TestDifferentialShell(t *testing.T) {
	real, model := openPair(t)
	differential(t, real, model, true)
}
