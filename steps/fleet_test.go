package steps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// TestFleetBringsUpEveryHost: with two hosts, every step is named after its
// host and one engine run brings both up.
func TestFleetBringsUpEveryHost(t *testing.T) {
	_, cfg, a := simLab(t)
	_, cfgB, _ := simLab(t)
	hb := cfgB.Hosts[0]
	hb.Name = "xs2"
	b := hosts.New(hb, hosts.Options{})
	defer b.Close(context.Background())
	a.Config.Name = "xs1"

	fleet := Fleet(cfg, []*hosts.Host{a, b})
	var names []string
	for _, s := range fleet {
		names = append(names, s.Name())
	}
	var want []string
	for _, h := range []string{"xs1", "xs2"} {
		for _, s := range BringUp(cfg, a) {
			want = append(want, h+"/"+s.Name())
		}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("fleet steps %v", names)
	}
	eng, err := provision.New(fleet, provision.Options{Parallel: 2})
	if err != nil {
		t.Fatal(err)
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

// TestErrorsNameTheHostOnce: with one host the step names do not carry
// it, so the error does; with several, the step name does and the error
// does not repeat it.
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
			host := "xs1"
			if h, _, ok := strings.Cut(s.Name, "/"); ok {
				host = h
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
