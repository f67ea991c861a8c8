package steps

import (
	"context"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim/xapid"
	"xenlab/localrc"
)

// TestManagementBridgePicksTheManagementNetwork: networks.management_bridge
// names the management network by its dom0 bridge (devstack's
// MGT_BRIDGE_OR_NET_NAME=xenbr0): domU's management VIF is on it; a bridge
// no network has fails the networks step, naming the field.
func TestManagementBridgePicksTheManagementNetwork(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := *cfg
	bad.Networks.ManagementBridge = "xenbr7"
	rep := run(t, ctx, beforeAgents(&bad, host), false)
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), `networks.management_bridge: 0 networks have the dom0 bridge "xenbr7"`) {
		t.Fatalf("up with a management bridge no network has: %v", rep.Err)
	}
	good := *cfg
	good.Networks.ManagementBridge = xapid.ManagementBridge
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	if rep := run(t, ctx, beforeAgents(&good, fresh), false); rep.Err != nil {
		t.Fatalf("up: %v\n%s", rep.Err, output(rep))
	}
	inv, err := fresh.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := findDomU(inv, cfg.Lab)
	found := false
	for _, r := range inv.VMs[vm].VIFs {
		if v := inv.VIFs[r]; v.Device == "0" && inv.Networks[v.Network].Bridge == xapid.ManagementBridge {
			found = true
		}
	}
	if !found {
		t.Errorf("domU has no VIF 0 on %s", xapid.ManagementBridge)
	}
}

// TestQAgtBridgesReachItsConfig: q-agt's integration_bridge and
// physical_bridge, when set, are what its ini file and devstack's localrc
// (XEN_INTEGRATION_BRIDGE, FLAT_NETWORK_BRIDGE) say, instead of the
// bridges xapi reports for the lab's networks; tenant_network_type reaches
// both agents' files.
func TestQAgtBridgesReachItsConfig(t *testing.T) {
	_, cfg, host := simLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)
	host.Changed()
	inv, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edited := *cfg
	edited.Quantum.Dom0Agent.IntegrationBridge = "xapi9"
	edited.Quantum.Dom0Agent.PhysicalBridge = "xapi8"
	files, err := (&agents{host: host, lab: &edited}).render(inv)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.path] = string(f.data)
	}
	for path, want := range map[string][]string{
		QAgtPath:                 {"integration_bridge = xapi9", "bridge_mappings = physnet1:xapi8", "tenant_network_type = vlan"},
		QDomUAPath:               {"integration_bridge = br-int", "tenant_network_type = vlan"},
		DevstackDir + "/localrc": {"XEN_INTEGRATION_BRIDGE='xapi9'", "FLAT_NETWORK_BRIDGE='xapi8'"},
	} {
		for _, w := range want {
			if !strings.Contains(got[path], w) {
				t.Errorf("%s lacks %q:\n%s", path, w, got[path])
			}
		}
	}
}

// TestTemplateEditsRebuild: with template_from = "install", an edited root
// disk rebuilds the template (netinstall) and domU from it; a new name
// renames it in place; rebuild_template = true rebuilds it on every up.
// Each shows in plan first.
func TestTemplateEditsRebuild(t *testing.T) {
	t.Parallel() // a simulated host of its own
	_, cfg, host := simLabInstall(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg.DomU.TemplateFrom = localrc.TemplateInstall
	upToAgents(t, ctx, cfg, host)
	templateUUID := func(h *hosts.Host) (string, int64) {
		t.Helper()
		h.Changed()
		inv, err := h.Inventory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := findTemplate(inv, cfg)
		if err != nil || tpl == "" {
			t.Fatalf("the lab's template: %q %v", tpl, err)
		}
		_, size := rootDisk(inv, findDomU(inv, cfg.Lab))
		return inv.VMs[tpl].UUID, size
	}
	first, _ := templateUUID(host)

	edited := *cfg
	edited.DomU.Disk = 10 << 30
	fresh := hosts.New(host.Config, hosts.Options{})
	defer fresh.Close(ctx)
	hasAll(t, "the plan's changes", changesOf(planOf(t, ctx, beforeAgents(&edited, fresh))), "template: domu.disk (domU rebuilt)",
		"domU: domu.disk (domU rebuilt)")
	if rep := run(t, ctx, beforeAgents(&edited, fresh), false); rep.Err != nil {
		t.Fatalf("up after the disk edit: %v\n%s", rep.Err, output(rep))
	}
	second, size := templateUUID(fresh)
	if second == first || size != 10<<30 {
		t.Errorf("after the disk edit: template %s (was %s), domU's disk %d bytes", second, first, size)
	}
	if p := planOf(t, ctx, beforeAgents(&edited, fresh)); len(p.Pending()) > 0 {
		t.Errorf("a plan after the rebuild: pending %v, changes %v", p.Pending(), changesOf(p))
	}

	edited.DomU.Template = "renamed template"
	hasAll(t, "the plan's changes", changesOf(planOf(t, ctx, beforeAgents(&edited, fresh))), "template: domu.template (in place)")
	if rep := run(t, ctx, beforeAgents(&edited, fresh), false); rep.Err != nil || !strings.Contains(output(rep), `renamed template "xenlab test template" to "renamed template"`) {
		t.Fatalf("up after the rename: %v\n%s", rep.Err, output(rep))
	}
	if uuid, _ := templateUUID(fresh); uuid != second {
		t.Errorf("the rename rebuilt the template")
	}

	edited.DomU.RebuildTemplate = true
	hasAll(t, "the plan's changes", changesOf(planOf(t, ctx, beforeAgents(&edited, fresh))), "template: domu.rebuild_template (domU rebuilt)")
	if rep := run(t, ctx, beforeAgents(&edited, fresh), false); rep.Err != nil {
		t.Fatalf("up with rebuild_template: %v\n%s", rep.Err, output(rep))
	}
	if third, _ := templateUUID(fresh); third == second {
		t.Errorf("rebuild_template = true did not rebuild the template")
	}
}
