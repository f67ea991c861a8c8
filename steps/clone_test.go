package steps

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// TestCloneInProgressIsNotTheTemplate: a clone of the lab's own template
// that a kill cut short carries the template's tags (role template); the
// record names it, so it is never taken for the template. Templates
// tagged as domU, or with the lab's tag and no role, are half-made
// clones; the template and the template build's VMs are not.
func TestCloneInProgressIsNotTheTemplate(t *testing.T) {
	lab := &localrc.Config{Lab: "demo"}
	lab.DomU.TemplateFrom = localrc.TemplateInstall
	lab.DomU.Name = "DevStackOSDomU"
	clone := cloneName(lab)
	tagged := func(role string) map[string]string { return tags("demo", role) }
	inv := &hosts.Snapshot{
		Pools: map[xapi.Ref]xapi.PoolRecord{"OpaqueRef:p": {OtherConfig: map[string]string{cloneKeyPrefix + "demo": clone}}},
		VMs: map[xapi.Ref]xapi.VMRecord{
			"OpaqueRef:a": {NameLabel: clone, IsATemplate: true, OtherConfig: tagged(RoleTemplate)},
			"OpaqueRef:b": {NameLabel: "tpl", IsATemplate: true, OtherConfig: tagged(RoleTemplate)},
			"OpaqueRef:c": {NameLabel: "DevStackOSDomU", IsATemplate: true, OtherConfig: tagged(RoleDomU)},
			"OpaqueRef:d": {NameLabel: "DevStackOSDomU", IsATemplate: true, OtherConfig: map[string]string{TagLab: "demo"}},
			"OpaqueRef:e": {NameLabel: "snap", IsATemplate: true, IsASnapshot: true, OtherConfig: tagged(RoleDomU)},
			"OpaqueRef:f": {NameLabel: "other lab's", IsATemplate: true, OtherConfig: tags("other", RoleDomU)},
		},
	}
	if got, err := findTemplate(inv, lab); err != nil || got != "OpaqueRef:b" {
		t.Errorf("findTemplate = %s (%v), want the template, not the clone in progress", got, err)
	}
	if _, name := cloneInProgress(inv, "demo"); name != clone {
		t.Errorf("cloneInProgress = %q, want %q", name, clone)
	}
	if got := clonesOf(inv, clone); !slices.Equal(got, []xapi.Ref{"OpaqueRef:a"}) {
		t.Errorf("clonesOf = %v", got)
	}
	if got := halfClones(inv, "demo"); !slices.Equal(got, []xapi.Ref{"OpaqueRef:c", "OpaqueRef:d"}) {
		t.Errorf("halfClones = %v, want the templates tagged domu or with no role", got)
	}
	if a, b := cloneName(lab), cloneName(lab); a == b {
		t.Errorf("two clone names alike: %q", a)
	}
}

// TestRedactRepo: git's output and a failed clone's error name the
// repository URL inside a line (or with a "/" added); its password goes,
// the rest of the line stays.
func TestRedactRepo(t *testing.T) {
	repo := "https://dev:s3cret-pw@git.example/openstack/devstack"
	for _, tc := range []struct{ in, want string }{
		{"xenlab simulator: nothing was cloned from " + repo + ": stand-in",
			"xenlab simulator: nothing was cloned from https://dev:xxxxx@git.example/openstack/devstack: stand-in"},
		{"fatal: repository '" + repo + "/' not found", "fatal: repository 'https://dev:xxxxx@git.example/openstack/devstack/' not found"},
		{"Cloning into '/opt/stack/devstack'...", "Cloning into '/opt/stack/devstack'..."},
	} {
		if got := redactRepo(tc.in, repo); got != tc.want {
			t.Errorf("redactRepo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if in := "from https://git.example/devstack"; redactRepo(in, "https://git.example/devstack") != in {
		t.Errorf("a URL without a password changed")
	}
	err := repoRedacted{err: fmt.Errorf("ssh domU: stderr: %s", repo), repo: repo}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error still holds the password: %v", err)
	}
}
