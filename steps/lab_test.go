package steps

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// hostState is what down must give back: the xapi objects the lab touches
// and dom0's bridges with their ports.
type hostState struct {
	objects map[string]any // "class/ref" -> record
	switch_ string
}

func readHostState(t *testing.T, ctx context.Context, host *hosts.Host) hostState {
	t.Helper()
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.EventFrom(ctx, []string{"network", "VM", "VIF", "VBD", "VDI", "PIF"}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	st := hostState{objects: map[string]any{}}
	for _, ev := range b.Events {
		st.objects[ev.Class+"/"+string(ev.Ref)] = ev.Snapshot
	}
	dom0, err := host.Dom0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dom0.Run(ctx, `for b in $(ovs-vsctl list-br); do echo "$b: $(ovs-vsctl list-ports $b | tr '\n' ' ')"; done`)
	if err != nil || res.ExitStatus != 0 {
		t.Fatalf("dom0 switch: %v %s", err, res.Stderr)
	}
	st.switch_ = string(res.Stdout)
	return st
}

func run(t *testing.T, ctx context.Context, steps []provision.Node, destroy bool) *provision.Report {
	t.Helper()
	eng, err := provision.New(steps, provision.Options{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if destroy {
		rep, _ := eng.Destroy(ctx)
		return rep
	}
	rep, _ := eng.Apply(ctx)
	return rep
}

func output(rep *provision.Report) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		for _, l := range s.Output {
			fmt.Fprintf(&b, "%s: %s\n", s.Name, l)
		}
	}
	return b.String()
}

// TestUpNoOpDownOnTheSimulatedHost is the lab's life on the simulated
// host: up to the placeholder, a second up that does nothing within the
// round-trip budget, down, and the host as it was before, with the
// same-named network and the VM the test made untouched.
func TestUpNoOpDownOnTheSimulatedHost(t *testing.T) {
	t.Parallel() // a simulated host of its own
	for _, mode := range []localrc.BridgeMode{localrc.BridgePlaceholder, localrc.BridgeAttach} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			// Real Open vSwitch in dom0 where it can run, the model elsewhere.
			sh, cfg, host := simLabOVS(t, ovs.ModeAuto)
			needStandIn(t, sh)
			t.Logf("dom0's switch: %s", sh.Endpoints().OVS)
			cfg.Networks.IntegrationBridge = mode
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // stack.sh runs in domU
			defer cancel()
			c, err := host.XAPI(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Someone else's network with a lab network's name, and a VM.
			theirs, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: cfg.Networks.VM})
			if err != nil {
				t.Fatal(err)
			}
			tpl := findTemplateByName(t, ctx, c, cfg.DomU.Template)
			other, err := c.VMClone(ctx, tpl, "someone else's VM")
			if err != nil {
				t.Fatal(err)
			}
			before := readHostState(t, ctx, host)

			start := time.Now()
			rep := run(t, ctx, BringUp(cfg, host), false)
			t.Logf("cold up took %v", time.Since(start).Round(time.Millisecond))
			if rep.Err != nil {
				t.Fatalf("cold up: %v\n%s", rep.Err, output(rep))
			}
			out := output(rep)
			if pw := cfg.Hosts[0].XAPIPassword.Reveal(); strings.Contains(out, pw) {
				t.Errorf("the xapi password appears in the step output")
			}
			if !strings.Contains(out, "name is now shared") {
				t.Errorf("no warning about the shared name:\n%s", out)
			}
			if mode == localrc.BridgePlaceholder && !strings.Contains(out, "set tag=4095") {
				t.Errorf("placeholder not tagged:\n%s", out)
			}
			if mode == localrc.BridgeAttach && !strings.Contains(out, "network.attach") {
				t.Errorf("network not attached:\n%s", out)
			}
			cold := host.Counters()
			t.Logf("cold up: %d xapi round trips, %d ssh handshakes, %d to domU as the stack user", cold.XAPIRoundTrips, cold.SSHHandshakes, host.DomUHandshakes())

			// A second up with fresh connections: nothing to do, within budget.
			again := hosts.New(host.Config, hosts.Options{})
			defer again.Close(ctx)
			rep = run(t, ctx, BringUp(cfg, again), false)
			if rep.Err != nil {
				t.Fatalf("second up: %v", rep.Err)
			}
			if done := rep.Names(provision.StateDone); !slices.Equal(done, []string{"preflight", "verify"}) {
				t.Errorf("second up ran %v, want only preflight and verify (which always read)\n%s", done, output(rep))
			}
			noop := again.Counters()
			t.Logf("no-op up: %d xapi round trips, %d ssh handshakes", noop.XAPIRoundTrips, noop.SSHHandshakes)
			if noop.XAPIRoundTrips > 10 || noop.SSHHandshakes != 1 {
				t.Errorf("no-op up cost %d xapi round trips (at most 10) and %d ssh handshakes (want 1)",
					noop.XAPIRoundTrips, noop.SSHHandshakes)
			}
			// domU's connection is the host's: the agents step's Check,
			// verify and the snapshot step's Check share one.
			if n := again.DomUHandshakes(); n != 1 {
				t.Errorf("no-op up connected to domU %d times, want 1", n)
			}

			down := hosts.New(host.Config, hosts.Options{})
			defer down.Close(ctx)
			rep = run(t, ctx, BringUp(cfg, down), true)
			if rep.Err != nil {
				t.Fatalf("down: %v\n%s", rep.Err, output(rep))
			}
			dc := down.Counters()
			t.Logf("down: %d xapi round trips, %d ssh handshakes", dc.XAPIRoundTrips, dc.SSHHandshakes)

			after := readHostState(t, ctx, host)
			if after.switch_ != before.switch_ {
				t.Errorf("dom0's switch before up:\n%s\nafter down:\n%s", before.switch_, after.switch_)
			}
			for k, v := range before.objects {
				if w, ok := after.objects[k]; !ok {
					t.Errorf("%s is gone after down", k)
				} else if !reflect.DeepEqual(v, w) {
					t.Errorf("%s changed:\nbefore %v\nafter  %v", k, v, w)
				}
			}
			for k := range after.objects {
				if _, ok := before.objects[k]; !ok {
					t.Errorf("%s is left after down", k)
				}
			}
			for _, k := range []string{"network/" + string(theirs), "vm/" + string(other)} {
				if _, ok := after.objects[k]; !ok {
					t.Errorf("%s (not the lab's) was removed", k)
				}
			}
		})
	}
}

func findTemplateByName(t *testing.T, ctx context.Context, c *xapi.Client, name string) xapi.Ref {
	t.Helper()
	refs, err := c.VMGetByNameLabel(ctx, name)
	if err != nil || len(refs) != 1 {
		t.Fatalf("template %q: %v %v", name, refs, err)
	}
	return refs[0]
}

func TestStatusShowsTheLab(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	st, err := Status(ctx, cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	// Before the agents domU's switch has no br-int: nothing to show, and
	// nothing wrong.
	if st.DomUSwitch != nil || st.DomUSwitchError != "" {
		t.Errorf("domU's switch before the agents: %+v %q", st.DomUSwitch, st.DomUSwitchError)
	}
	var text, js strings.Builder
	if err := st.WriteText(&text, Plain); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OpenStack VM Integration Network", "tag: 4095    <- placeholder", "Running, IP ", ", up "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(js.String(), `"placeholder": true`) || !strings.Contains(js.String(), `"uptime": "`) {
		t.Errorf("status JSON lacks the placeholder:\n%s", js.String())
	}
}
