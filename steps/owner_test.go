package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// TestReuseExistingAdoptsTheOnlySameNamedNetwork: with reuse_existing the
// lab adopts the unique same-named network, never tags it and leaves it
// after down; with two of that name it refuses.
func TestReuseExistingAdoptsTheOnlySameNamedNetwork(t *testing.T) {
	_, cfg, host := simLab(t)
	cfg.Networks.ReuseExisting = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: cfg.Networks.Public, OtherConfig: map[string]string{"who": "them"}})
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	if out := output(rep); !strings.Contains(out, "adopted the existing network") {
		t.Errorf("no adoption said:\n%s", out)
	}
	if oc, err := c.NetworkGetOtherConfig(ctx, theirs); err != nil || len(oc) != 1 || oc["who"] != "them" {
		t.Errorf("adopted network's other_config is now %v (%v), want it unchanged", oc, err)
	}
	if rep := run(t, ctx, beforeAgents(cfg, host), true); rep.Err != nil {
		t.Fatalf("down: %v\n%s", rep.Err, output(rep))
	}
	if _, err := c.NetworkGetRecord(ctx, theirs); err != nil {
		t.Errorf("down removed the adopted network: %v", err)
	}

	// A second network of that name: the choice is ambiguous, up refuses.
	if _, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: cfg.Networks.Public}); err != nil {
		t.Fatal(err)
	}
	host.Changed()
	rep = run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "2 networks are named") {
		t.Fatalf("up with two same-named networks: %v, want a refusal", rep.Err)
	}
}

// TestDownRemovesTaggedObjectsRenamedByHand: down selects by tag, not name.
func TestDownRemovesTaggedObjectsRenamedByHand(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	c, _ := host.XAPI(ctx)
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := findDomU(inv, cfg.Lab)
	if err := c.VMSetNameLabel(ctx, vm, "renamed by hand"); err != nil {
		t.Fatal(err)
	}
	net, _, _ := findNetwork(inv, cfg, RoleVMNetwork, cfg.Networks.VM)
	if _, err := c.Call(ctx, "network.set_name_label", string(net), "also renamed"); err != nil {
		t.Fatal(err)
	}
	if err := c.NetworkRemoveFromOtherConfig(ctx, net, TagRole); err != nil { // and its role lost
		t.Fatal(err)
	}
	host.Changed()
	if rep := run(t, ctx, beforeAgents(cfg, host), true); rep.Err != nil {
		t.Fatalf("down: %v\n%s", rep.Err, output(rep))
	}
	if _, err := c.VMGetRecord(ctx, vm); !xapi.HasCode(err, "HANDLE_INVALID") {
		t.Errorf("renamed domU survived down: %v", err)
	}
	if _, err := c.NetworkGetRecord(ctx, net); !xapi.HasCode(err, "HANDLE_INVALID") {
		t.Errorf("renamed network survived down: %v", err)
	}
}

// TestTemplateOfTheLabIsFoundByTagAndKeptUnlessPurged: with template_from
// = "install" the lab's tagged template is used (not the same-named
// prebuilt one), survives down, and goes with PurgeTemplate.
func TestTemplateOfTheLabIsFoundByTagAndKeptUnlessPurged(t *testing.T) {
	_, cfg, host := simLab(t)
	cfg.DomU.TemplateFrom = localrc.TemplateInstall
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _ := host.XAPI(ctx)

	// Without the lab's template, install mode builds one through the
	// (modelled) installer, tagged as the lab's, beside the untagged
	// prebuilt template of the same name.
	prebuilt := findTemplateByName(t, ctx, c, cfg.DomU.Template)
	rep := run(t, ctx, beforeAgents(cfg, host), false)
	if rep.Err != nil {
		t.Fatalf("up without the lab's template: %v\n%s", rep.Err, output(rep))
	}
	recs, err := c.VMGetAllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mine xapi.Ref
	for ref, r := range recs {
		if ownedAs(cfg.Lab, RoleTemplate, r.OtherConfig) {
			if mine != "" {
				t.Fatalf("two templates tagged as the lab's: %s and %s", mine, ref)
			}
			mine = ref
		}
	}
	if mine == "" || mine == prebuilt {
		t.Fatalf("the installer built no tagged template of the lab's (found %q, prebuilt %q)", mine, prebuilt)
	}
	// A second up finds it by its tag and builds nothing.
	host.Changed()
	if rep := run(t, ctx, beforeAgents(cfg, host), false); rep.Err != nil {
		t.Fatalf("second up: %v\n%s", rep.Err, output(rep))
	}
	if recs, err := c.VMGetAllRecords(ctx); err != nil || countTagged(recs, cfg.Lab, RoleTemplate) != 1 {
		t.Fatalf("after a second up: %d tagged templates (%v)", countTagged(recs, cfg.Lab, RoleTemplate), err)
	}
	if rep := run(t, ctx, beforeAgents(cfg, host), true); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if _, err := c.VMGetRecord(ctx, mine); err != nil {
		t.Fatalf("down removed the cached template: %v", err)
	}
	host.Changed()
	if rep := run(t, ctx, beforeAgents(cfg, host, PurgeTemplate()), true); rep.Err != nil {
		t.Fatal(rep.Err)
	}
	if _, err := c.VMGetRecord(ctx, mine); !xapi.HasCode(err, "HANDLE_INVALID") {
		t.Errorf("down --purge-template kept the cached template: %v", err)
	}
	if _, err := c.VMGetRecord(ctx, prebuilt); err != nil {
		t.Errorf("the untagged prebuilt template was touched: %v", err)
	}
}

// countTagged counts the records tagged as the lab's with role.
func countTagged(recs map[xapi.Ref]xapi.VMRecord, lab, role string) int {
	n := 0
	for _, r := range recs {
		if ownedAs(lab, role, r.OtherConfig) {
			n++
		}
	}
	return n
}
