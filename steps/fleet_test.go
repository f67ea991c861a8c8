package steps

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// TestFleetBringsUpEveryHost: with two hosts, every step is on its host
// and one engine run brings both up.
func TestFleetBringsUpEveryHost(t *testing.T) {
	t.Parallel() // a simulated host of its own
	_, cfg, a := simLab(t)
	_, cfgB, _ := simLab(t)
	hb := cfgB.Hosts[0]
	hb.Name = "xs2"
	b := hosts.New(hb, hosts.Options{})
	defer b.Close(context.Background())
	a.Config.Name = "xs1"

	fleet := Fleet(cfg, []*hosts.Host{a, b})
	var want []string
	for _, h := range []string{"xs1", "xs2"} {
		for _, n := range BringUp(cfg, a) {
			want = append(want, h+"/"+n.Step.Name())
		}
	}
	eng, err := provision.New(fleet, provision.Options{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	names := eng.Steps()
	if !slices.Equal(names, want) {
		t.Fatalf("fleet steps %v", names)
	}
	rep, err := eng.Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The simulator ships the template: already there, nothing to do.
	got := append(rep.Names(provision.StateDone), rep.Names(provision.StateAlreadyDone)...)
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("done %v, want %v", got, names)
	}
}

// TestErrorsNameTheHostOnce: the engine names a step's host in its error,
// once, whether the graph has one host or several.
func TestErrorsNameTheHostOnce(t *testing.T) {
	cfg := &localrc.Config{Lab: "t"}
	h := func(name string) *hosts.Host {
		return hosts.New(localrc.Host{Name: name, XAPIURL: "https://127.0.0.1:1/", XAPIUser: "root"}, hosts.Options{})
	}
	for _, hs := range [][]*hosts.Host{{h("xs1")}, {h("xs1"), h("xs2")}} {
		eng, err := provision.New(Fleet(cfg, hs), provision.Options{Parallel: 1})
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := eng.Apply(context.Background())
		if rep.Err == nil {
			t.Fatal("up against an unreachable host succeeded")
		}
		for _, s := range rep.Steps {
			if s.Err == nil {
				continue
			}
			msg := s.Err.Error()
			host := s.Host
			if host == "" { // one host's run: its results carry no host
				host = "xs1"
			}
			if n := strings.Count(msg, host); n != 1 {
				t.Errorf("%d hosts: %q names %s %d times, want once", len(hs), msg, host, n)
			}
			if n := strings.Count(msg, "https://127.0.0.1:1/"); n != 1 {
				t.Errorf("%d hosts: %q names the URL %d times, want once", len(hs), msg, n)
			}
		}
	}
}

// TestGraphsKeepWhatStepsAre: every graph a command runs (up's and down's
// bring-up of one host or of a fleet, reset's, verify's) puts each step on
// its host and keeps its metadata: the agents step's time limit is the
// lab's timeouts.stack, preflight and verify only read. The engine reads
// them from the nodes, so no way of joining graphs can drop them.
func TestGraphsKeepWhatStepsAre(t *testing.T) {
	cfg := &localrc.Config{Lab: "t", Timeouts: localrc.Timeouts{Stack: 90 * time.Minute}}
	var hs []*hosts.Host
	for _, name := range []string{"xs1", "xs2"} {
		hs = append(hs, hosts.New(localrc.Host{Name: name, XAPIURL: "https://127.0.0.1:1/", XAPIUser: "root"}, hosts.Options{}))
	}
	graphs := map[string][]provision.Node{
		"bring-up of one host": Fleet(cfg, hs[:1]),
		"bring-up of a fleet":  Fleet(cfg, hs, PurgeTemplate()),
		"reset of a fleet":     ResetFleet(cfg, hs),
		"verify of a fleet":    Verify(cfg, hs),
	}
	for what, g := range graphs {
		perHost := map[string]int{}
		for _, n := range g {
			perHost[n.Host]++
			name := n.Step.Name()
			if strings.Contains(name, "/") {
				t.Errorf("%s: step %q carries its host in its name", what, name)
			}
			if want := name == "preflight" || name == "verify"; n.ReadOnly != want {
				t.Errorf("%s: %s/%s ReadOnly %v, want %v", what, n.Host, name, n.ReadOnly, want)
			}
			if want := map[bool]time.Duration{true: 90 * time.Minute}[name == "agents"]; n.Timeout != want {
				t.Errorf("%s: %s/%s time limit %s, want %s", what, n.Host, name, n.Timeout, want)
			}
		}
		if what != "bring-up of one host" && (len(perHost) != 2 || perHost["xs1"] != perHost["xs2"]) {
			t.Errorf("%s: steps per host %v", what, perHost)
		}
		if _, err := provision.New(g, provision.Options{}); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	cfg.Timeouts.Stack = 0
	for _, n := range BringUp(cfg, hs[0]) {
		if n.Step.Name() == "agents" && n.Timeout != defaultStackTO {
			t.Errorf("agents' time limit without timeouts.stack: %s, want %s", n.Timeout, defaultStackTO)
		}
	}
}
