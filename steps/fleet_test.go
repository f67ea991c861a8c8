package steps

import (
	"context"
	"slices"
	"testing"

	"xenlab/hosts"
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
