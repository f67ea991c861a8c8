package steps

import (
	"strings"
	"testing"
)

// Output of Open vSwitch 3.1.0 (userspace datapath) on the simulated
// host's real switches after a bring-up, as tracePath's command prints it.
const dom0TraceOut = `=rc 0
Flow: in_port=LOCAL,dl_vlan=1,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=fa:16:3e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000

bridge("xapi2")
---------------
 0. priority 1
    NORMAL
     -> no learned MAC for destination, flooding

bridge("xapi0")
---------------
 0. in_port=2,dl_vlan=1, priority 4
    mod_vlan_vid:1000
    NORMAL
     -> no learned MAC for destination, flooding

Final flow: unchanged
Megaflow: recirc_id=0,eth,in_port=LOCAL,dl_vlan=1,dl_vlan_pcp=0,dl_src=fa:16:3e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000
Datapath actions: pop_vlan,push_vlan(vid=1000,pcp=0),3,4
=dpif
netdev@ovs-netdev: hit:0 missed:0
  xapi0:
    phy-xapi0 2/none: (patch: peer=int-xapi0)
    vif1.1 1/4: (system)
    xapi0 65534/3: (tap)
  xapi1:
    vif1.2 1/6: (system)
    xapi1 65534/5: (tap)
  xapi2:
    int-xapi0 2/none: (patch: peer=phy-xapi0)
    vif1.3 1/8: (system)
    xapi2 65534/7: (tap)
`

const domUTraceOut = `=rc 0
Flow: in_port=1,dl_vlan=1000,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=fa:16:3e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000

bridge("br-eth1")
-----------------
 0. priority 1
    NORMAL
     -> no learned MAC for destination, flooding

bridge("br-int")
----------------
 0. in_port=1,dl_vlan=1000, priority 3
    mod_vlan_vid:1
    NORMAL
     -> no learned MAC for destination, flooding

Final flow: unchanged
Megaflow: recirc_id=0,eth,in_port=1,dl_vlan=1000,dl_vlan_pcp=0,dl_src=fa:16:3e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000
Datapath actions: 1,pop_vlan,push_vlan(vid=1,pcp=0),3,pop_vlan,4,5
=dpif
netdev@ovs-netdev: hit:0 missed:0
  br-eth1:
    br-eth1 65534/1: (tap)
    eth1 1/2: (system)
    phy-br-eth1 2/none: (patch: peer=int-br-eth1)
  br-int:
    br-int 65534/3: (tap)
    int-br-eth1 1/none: (patch: peer=phy-br-eth1)
    qr-4c7837f1-8c 3/5: (tap)
    tap38bc2c26-7d 2/4: (tap)
`

func TestParseTraceFollowsTheVLANThroughTheDatapathActions(t *testing.T) {
	for _, c := range []struct {
		name, out, flow, want string
	}{
		{"dom0", dom0TraceOut, "in_port=LOCAL,dl_vlan=1,dl_src=" + traceSrc,
			"xapi0 on xapi0 (VLAN 1000), vif1.1 on xapi0 (VLAN 1000)"},
		{"domU", domUTraceOut, "in_port=eth1,dl_vlan=1000,dl_src=" + traceSrc,
			"br-eth1 on br-eth1 (VLAN 1000), br-int on br-int (VLAN 1), tap38bc2c26-7d on br-int (untagged), qr-4c7837f1-8c on br-int (untagged)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := parseTrace(c.out, c.flow)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeOutputs(tr); !strings.HasPrefix(got, c.want+" (datapath actions: ") {
				t.Errorf("outputs %s, want %s", got, c.want)
			}
		})
	}
}

func TestParseTraceTellsAMissingCommandFromAFailure(t *testing.T) {
	// What ovs-vswitchd (and the model) answer for a command they lack.
	lacks := "=rc 2\n\"ofproto/trace\" is not a valid command (use \"list-commands\" to see a list of valid commands)\novs-appctl: ovs-vswitchd: server returned an error\n"
	tr, err := parseTrace(lacks, "in_port=eth1")
	if err != nil || !strings.Contains(tr.unavailable, "is not a valid command") {
		t.Errorf("a switch without ofproto/trace: %+v %v, want it not available", tr, err)
	}
	fails := "=rc 2\nNo such bridge\novs-appctl: ovs-vswitchd: server returned an error\n"
	if tr, err := parseTrace(fails, "in_port=eth1"); err == nil || !strings.Contains(err.Error(), "No such bridge") {
		t.Errorf("a failing trace: %+v %v, want its error", tr, err)
	}
}

func TestSplitActionsKeepsParentheses(t *testing.T) {
	got := strings.Join(splitActions("1,push_vlan(vid=1,pcp=0),3"), "|")
	if got != "1|push_vlan(vid=1,pcp=0)|3" {
		t.Errorf("split %q", got)
	}
}

// A switch as readSwitch's command prints it: domU's br-int with its link
// to br-eth1 as a veth pair (Havana's default) or patch ports.
func domUSwitchOut(veth bool) string {
	link := `["int-br-eth1","patch",["map",[["peer","phy-br-eth1"]]],1,["map",[]]],` +
		`["phy-br-eth1","patch",["map",[["peer","int-br-eth1"]]],2,["map",[]]]`
	vethLines := ""
	if veth {
		link = `["int-br-eth1","",["map",[]],1,["map",[]]],["phy-br-eth1","",["map",[]],2,["map",[]]]`
		vethLines = "7: phy-br-eth1@int-br-eth1: <BROADCAST,MULTICAST,UP> mtu 1500\n8: int-br-eth1@phy-br-eth1: <BROADCAST,MULTICAST,UP> mtu 1500\n"
	}
	return `{"data":[["br-eth1",["set",[["uuid","u1"],["uuid","u2"],["uuid","u6"]]]],["br-int",["set",[["uuid","u3"],["uuid","u4"],["uuid","u5"],["uuid","u7"]]]]],"headings":["name","ports"]}` + "\n" +
		`{"data":[[["uuid","u1"],"eth1",["set",[]]],[["uuid","u2"],"phy-br-eth1",["set",[]]],[["uuid","u3"],"int-br-eth1",["set",[]]],` +
		`[["uuid","u4"],"tap1",1],[["uuid","u5"],"qr-1",1],[["uuid","u6"],"br-eth1",["set",[]]],[["uuid","u7"],"br-int",["set",[]]]],"headings":[]}` + "\n" +
		`{"data":[` + link + `,["tap1","internal",["map",[]],3,["map",[]]],["qr-1","internal",["map",[]],4,["map",[]]],["br-int","internal",["map",[]],65534,["map",[]]]],"headings":[]}` + "\n" +
		"=flows br-int\n priority=3,in_port=1,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL\n priority=1 actions=NORMAL\n" +
		"=veth\n" + vethLines
}

func TestCheckDomUTakesPatchOrVeth(t *testing.T) {
	for _, veth := range []bool{false, true} {
		sw, err := parseSwitch("domU", domUSwitchOut(veth))
		if err != nil {
			t.Fatal(err)
		}
		l, errs := checkDomU(sw, "br-int", "br-eth1", 1000)
		want := map[bool]string{false: "patched", true: "veth-linked"}[veth]
		if len(errs) > 0 || l.how != want || l.local != "1" || l.dhcp.name != "tap1" || l.router.name != "qr-1" {
			t.Errorf("veth=%v: %+v %v, want %s on local VLAN 1", veth, l, errs, want)
		}
		// Without the link in the kernel (veth) or the peer (patch) the
		// promise is broken.
		delete(sw.veth, "int-br-eth1")
		p := sw.ports["int-br-eth1"]
		p.peer = ""
		sw.ports["int-br-eth1"] = p
		if _, errs := checkDomU(sw, "br-int", "br-eth1", 1000); len(errs) != 1 ||
			!strings.Contains(errs[0].Error(), "domU switch, bridge br-int: expected int-br-eth1 patched or veth-linked to a port of br-eth1") {
			t.Errorf("veth=%v, link gone: %v", veth, errs)
		}
	}
}

// dom0's integration bridge with the placeholder and its link (a bridge
// with one port has that port's uuid, not a set, as ovsdb writes it).
const dom0SwitchOut = `{"data":[["xapi0",["set",[["uuid","a1"],["uuid","a2"]]]],["xapi2",["set",[["uuid","a3"],["uuid","a4"]]]],["xenbr0",["uuid","a5"]]],"headings":[]}` + "\n" +
	`{"data":[[["uuid","a4"],"vif1.3",4095],[["uuid","a2"],"vif1.1",["set",[]]],[["uuid","a1"],"phy-xapi0",["set",[]]],[["uuid","a3"],"int-xapi0",["set",[]]],[["uuid","a5"],"xenbr0",["set",[]]]],"headings":[]}` + "\n" +
	`{"data":[["int-xapi0","patch",["map",[["peer","phy-xapi0"]]],2,["map",[]]],` +
	`["phy-xapi0","patch",["map",[["peer","int-xapi0"]]],2,["map",[]]],` +
	`["vif1.3","",["map",[]],1,["map",[["xs-vif-uuid","P-UUID"]]]]],"headings":[]}` + "\n" +
	"=flows xapi2\n priority=3,in_port=2,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL\n" +
	"=flows xapi0\n priority=4,in_port=2,dl_vlan=1 actions=mod_vlan_vid:1000,NORMAL\n=veth\n"

func TestParseSwitchListsPortsAsListPortsDoes(t *testing.T) {
	sw, err := parseSwitch("dom0", dom0SwitchOut)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range []string{"xapi0", "xapi2", "xenbr0"} {
		for _, p := range sw.on(b) {
			got = append(got, b+":"+p.name)
		}
	}
	if want := "xapi0:phy-xapi0 xapi0:vif1.1 xapi2:int-xapi0 xapi2:vif1.3"; strings.Join(got, " ") != want || !sw.bridges["xenbr0"] {
		t.Errorf("ports %v (bridges %v), want %s, each bridge's own port left out", got, sw.bridges, want)
	}
}

func TestCheckDom0NamesEachBrokenPromise(t *testing.T) {
	sw, err := parseSwitch("dom0", dom0SwitchOut)
	if err != nil {
		t.Fatal(err)
	}
	l, errs := checkDom0(sw, "xapi2", "xapi0", "P-UUID", true, 1000)
	if len(errs) > 0 || l.placeholder != "vif1.3" || l.local != "1" || l.vmPort.name != "phy-xapi0" {
		t.Fatalf("the walk-through's dom0: %+v %v", l, errs)
	}
	for _, c := range []struct {
		name   string
		break_ func(sw *ovsSwitch)
		vif    string
		want   string
	}{
		{"another VIF on 4095", func(*ovsSwitch) {}, "OTHER",
			"dom0 switch, bridge xapi2: expected the placeholder VIF's port on VLAN 4095, found no port of VIF OTHER"},
		{"untagged", func(sw *ovsSwitch) { p := sw.ports["vif1.3"]; p.tag = ""; sw.ports["vif1.3"] = p }, "P-UUID",
			"dom0 switch, bridge xapi2: expected the placeholder VIF's port on VLAN 4095, found port vif1.3 with tag none"},
		{"no way back", func(sw *ovsSwitch) { sw.flows["xapi0"] = nil }, "P-UUID",
			"dom0 switch, bridge xapi0: expected a flow in_port=phy-xapi0,dl_vlan=1 actions=mod_vlan_vid:1000,NORMAL, found 0 flows"},
		{"no way in", func(sw *ovsSwitch) { sw.flows["xapi2"] = nil }, "P-UUID",
			"dom0 switch, bridge xapi2: expected a flow in_port=int-xapi0,dl_vlan=1000 actions=mod_vlan_vid:<local>,NORMAL, found 0 flows"},
	} {
		sw, _ := parseSwitch("dom0", dom0SwitchOut)
		c.break_(&sw)
		_, errs := checkDom0(sw, "xapi2", "xapi0", c.vif, true, 1000)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, errs, c.want)
		}
	}
}

func TestDom0SourceIsATenantPortWhenThereIsOne(t *testing.T) {
	sw, err := parseSwitch("dom0", dom0SwitchOut)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := checkDom0(sw, "xapi2", "xapi0", "P-UUID", true, 1000)
	if from, flow := dom0Source(sw, "xapi2", l); !strings.HasPrefix(flow, "in_port=LOCAL,dl_vlan=1,") || !strings.Contains(from, "no tenant port yet") {
		t.Errorf("without a tenant port: %q %q", from, flow)
	}
	// A VIF without an OpenFlow port (its device is gone) cannot be traced from.
	sw.ports["vif2.0"] = ovsPort{name: "vif2.0", bridge: "xapi2", tag: "1", ofport: "-1"}
	if _, flow := dom0Source(sw, "xapi2", l); !strings.HasPrefix(flow, "in_port=LOCAL,") {
		t.Errorf("with a tenant port without an OpenFlow port: %q", flow)
	}
	sw.ports["vif2.0"] = ovsPort{name: "vif2.0", bridge: "xapi2", tag: "1", ofport: "3"}
	if from, flow := dom0Source(sw, "xapi2", l); flow != "in_port=vif2.0,dl_src="+traceSrc+",dl_dst=ff:ff:ff:ff:ff:ff" || from != "tenant port vif2.0" {
		t.Errorf("with a tenant port: %q %q", from, flow)
	}
}
