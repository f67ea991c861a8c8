package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/localrc"
	"xenlab/provision"
)

// needStandIn skips a test that runs stack.sh in the simulated domU when
// the devstack stand-in cannot run here.
func needStandIn(t testing.TB, sh *sim.Host) {
	t.Helper()
	if why := devstack.Unavailable(sh.Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
}

// upToAgents runs the bring-up before the agents step.
func upToAgents(t *testing.T, ctx context.Context, cfg *localrc.Config, host *hosts.Host) {
	t.Helper()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatalf("up to the agents: %v\n%s", rep.Err, output(rep))
	}
}

// shOut runs cmd in dom0 and fails the test unless it exits 0.
func shOut(t *testing.T, ctx context.Context, host *hosts.Host, cmd string) string {
	t.Helper()
	dom0, err := host.Dom0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dom0.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("dom0: %s: %v %s", cmd, err, res.Stderr)
	}
	return string(res.Stdout)
}

// TestAgentsMistakesThenWalkThrough: one thing broken at a time (netwrap
// gone from dom0, a wrong xapi password in rootwrap.conf, stack.sh
// failing), each fails the step with a message naming the cause; then the
// step gives the walk-through's switches, its secret files are 0600, and
// the xapi password is in no output or error.
func TestAgentsMistakesThenWalkThrough(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLabOVS(t, ovs.ModeModel)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)
	pw := cfg.Hosts[0].XAPIPassword.Reveal()
	var all []string
	apply := func(a *agents) error {
		var out lines
		err := a.Apply(ctx, &out)
		all = append(all, out...)
		if err != nil {
			all = append(all, err.Error())
		}
		return err
	}

	// 1. The netwrap plugin removed from dom0.
	shOut(t, ctx, host, "mv "+PluginDir+"/netwrap /root/netwrap.away")
	err := apply(&agents{host: host, lab: cfg})
	if err == nil || !strings.Contains(err.Error(), "dom0 has no xapi plugin 'netwrap'") {
		t.Errorf("without netwrap: %v, want the missing plugin named", err)
	}
	shOut(t, ctx, host, "mv /root/netwrap.away "+PluginDir+"/netwrap")

	// 2. A wrong xapi password in rootwrap.conf.
	wrong := &agents{host: host, lab: cfg, corrupt: func(b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), "xenapi_connection_password="+pw, "xenapi_connection_password=not-the-password"))
	}}
	err = apply(wrong)
	if err == nil || !strings.Contains(err.Error(), "SESSION_AUTHENTICATION_FAILED") ||
		!strings.Contains(err.Error(), RootwrapPath) {
		t.Errorf("wrong password: %v, want SESSION_AUTHENTICATION_FAILED naming %s", err, RootwrapPath)
	}

	// 3. stack.sh failing.
	addr := (&agents{host: host, lab: cfg}).domUAddr(mustInv(t, ctx, host))
	g, err := host.DialGuest(ctx, "domU", addr, cfg.DomU.SSHUser, cfg.DomU.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Run(ctx, "cd "+DevstackDir+" && cp stack.sh /tmp/stack.sh.good && printf '#!/bin/bash\\necho installing\\necho no such package: rabbitmq-server >&2\\nexit 3\\n' > stack.sh"); err != nil {
		t.Fatal(err)
	}
	err = apply(&agents{host: host, lab: cfg})
	if err == nil || !strings.Contains(err.Error(), "stack.sh failed (exit 3)") ||
		!strings.Contains(err.Error(), "no such package: rabbitmq-server") {
		t.Errorf("failing stack.sh: %v, want exit 3 and the tail of its log", err)
	}
	if _, err := g.Run(ctx, "cp /tmp/stack.sh.good "+DevstackDir+"/stack.sh"); err != nil {
		t.Fatal(err)
	}

	// Then the lab as the walk-through has it.
	a := &agents{host: host, lab: cfg}
	if err := apply(a); err != nil {
		t.Fatalf("agents: %v\n%s", err, strings.Join(all, "\n"))
	}
	if done, err := a.Check(ctx); err != nil || !done {
		t.Errorf("Check after Apply: %v %v", done, err)
	}
	for _, l := range all {
		if strings.Contains(l, pw) {
			t.Fatalf("the xapi password appears in the step's output or error: %q", l)
		}
	}
	res, err := g.Run(ctx, "stat -c '%a %n' "+DevstackDir+"/localrc "+RootwrapPath+
		" && ovs-ofctl show br-int | grep -c 'int-br-eth1' && ovs-ofctl dump-flows --no-stats br-int")
	if err != nil {
		t.Fatal(err)
	}
	domu := string(res.Stdout)
	for _, want := range []string{"600 " + DevstackDir + "/localrc", "600 " + RootwrapPath, "dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"} {
		if !strings.Contains(domu, want) {
			t.Errorf("domU lacks %q:\n%s", want, domu)
		}
	}
	inv := mustInv(t, ctx, host)
	_, intBr, err := viewOf(inv, cfg).integrationBridge()
	if err != nil {
		t.Fatal(err)
	}
	dom0 := shOut(t, ctx, host, "ovs-vsctl show")
	for _, want := range []string{"Bridge " + intBr, "tag: " + DeadVLAN, "options: {peer="} {
		if !strings.Contains(dom0, want) {
			t.Errorf("dom0's switch lacks %q:\n%s", want, dom0)
		}
	}

	// verify keeps every promise, then names the one broken behind
	// xenlab's back.
	vf := &verify{host: host, lab: cfg}
	var vout lines
	if err := vf.Apply(ctx, &vout); err != nil {
		t.Fatalf("verify on the walk-through's lab: %v", err)
	}
	// The model has no ofproto/trace: the proof is not available, not failed.
	if got := strings.Join(vout, "\n"); strings.Count(got, "the path is not proved: this switch has no ofproto/trace") != 2 {
		t.Errorf("verify on the model's switches:\n%s\nwant the path not proved on both", got)
	}
	// Nor ovs-ofctl packet-out and dump-ports: no real frame, and verify
	// says the proof is ofproto/trace's, else the flows'.
	if got := strings.Join(vout, "\n"); !strings.Contains(got, "the tenant path is not proved with real frames (domU's switch: ovs-ofctl: unknown command 'dump-ports'") {
		t.Errorf("verify on the model's switches:\n%s\nwant the real frames' proof said unavailable", got)
	}
	if _, err := g.Run(ctx, "ovs-ofctl del-flows br-int dl_vlan=1000"); err != nil {
		t.Fatal(err)
	}
	err = vf.Apply(ctx, &vout)
	want := "domU switch, bridge br-int: expected a flow in_port=int-br-eth1,dl_vlan=1000 actions=mod_vlan_vid:<local>,NORMAL, found"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("verify after the flow was deleted: %v, want %q", err, want)
	}
}

func mustInv(t *testing.T, ctx context.Context, host *hosts.Host) *hosts.Snapshot {
	t.Helper()
	host.Changed()
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// beforeAgents is BringUp without the agents, verify and snapshot steps,
// for the tests of the steps before them (they need neither root nor
// stack.sh).
func beforeAgents(cfg *localrc.Config, host *hosts.Host, opts ...Option) []provision.Node {
	var out []provision.Node
	for _, s := range BringUp(cfg, host, opts...) {
		if n := s.Step.Name(); n != "agents" && n != "verify" && n != "snapshot" {
			out = append(out, s)
		}
	}
	return out
}

// TestAgentsWant: what the agents step does for what it finds in domU,
// and the reason it gives.
func TestAgentsWant(t *testing.T) {
	a := &agents{lab: &localrc.Config{}}
	files := []agentFile{{path: QAgtPath, data: []byte("q-agt ini")}}
	good := map[string]string{QAgtPath: sum([]byte("q-agt ini"))}
	procs := []string{
		"/bin/bash /usr/local/bin/neutron-openvswitch-agent --config-file " + QAgtPath,
		"python /usr/local/bin/neutron-openvswitch-agent --config-file /etc/neutron/neutron.conf --config-file /" + QDomUAPath,
	}
	boot := "0b7a1c1e-0000-4000-8000-000000000001"
	for _, tc := range []struct {
		name string
		st   agentsState
		want agentsWork
		why  string
	}{
		{"all there", agentsState{marker: "m", sums: good, bootNow: boot, bootStacked: boot, procs: procs}, agentsDone, ""},
		{"no marker", agentsState{sums: good, bootNow: boot, bootStacked: boot, procs: procs}, agentsStack, "no stack.sh has finished"},
		{"file changed", agentsState{marker: "m", sums: map[string]string{QAgtPath: "0"}, procs: procs}, agentsStack, QAgtPath + " is not what the lab file gives now"},
		{"file gone", agentsState{marker: "m", sums: map[string]string{}, procs: procs}, agentsStack, QAgtPath + " is missing"},
		{"upload where a clone is asked for", agentsState{marker: "m", sums: map[string]string{QAgtPath: good[QAgtPath], SourceManifest: "x"}}, agentsStack, "is an upload"},
		{"rebooted", agentsState{marker: "m", sums: good, bootNow: "1111111a-0000", bootStacked: boot, procs: procs}, agentsRejoin, "domU rebooted since the agents started (boot_id 0b7a1c1e then, 1111111a now)"},
		{"q-domua killed", agentsState{marker: "m", sums: good, bootNow: boot, bootStacked: boot, procs: procs[:1]}, agentsRejoin, "q-domua not running in domU"},
		{"both killed", agentsState{marker: "m", sums: good, bootNow: boot, bootStacked: boot}, agentsRejoin, "q-agt and q-domua not running in domU"},
		{"a grep that names them is not them", agentsState{marker: "m", sums: good, bootNow: boot, bootStacked: boot,
			procs: []string{"grep -e neutron-openvswitch-agent --config-file " + QAgtPath}}, agentsRejoin, "q-agt and q-domua not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			var kept []string
			for _, p := range st.procs {
				if isAgent(p) {
					kept = append(kept, p)
				}
			}
			st.procs = kept
			got, why := a.want(st, files)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Errorf("want() = %v %q, want %v %q", got, why, tc.want, tc.why)
			}
		})
	}
}
