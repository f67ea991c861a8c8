package steps

import (
	"maps"
	"slices"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
)

// Ownership: every xapi object xenlab makes carries, in other_config,
// TagLab=<lab> (which lab owns it) and TagRole=<role> (what it is for). A
// step finds its objects by these two keys, never by name: names are for
// people and may be shared or changed by hand. down removes what carries
// TagLab=<lab>, whatever its role or name.
const (
	TagLab  = "xenlab-lab"
	TagRole = "xenlab-role"
)

// Roles of the objects xenlab makes.
const (
	RoleVMNetwork          = "vm-network"
	RolePublicNetwork      = "public-network"
	RoleIntegrationNetwork = "integration-network"
	RoleTemplate           = "template"
	RoleDomU               = "domu"
	RoleVIF                = "vif"
	RolePlaceholderVIF     = "placeholder-vif"
	RoleXVDB               = "xvdb" // domU's extra disk (domu.xvdb_size)
)

// TagTemplate, in domU's other_config, is the UUID of the template domU
// was cloned from: a template rebuilt (rebuild_template, a changed
// install) or another one (domu.template) means domU is rebuilt from it.
const TagTemplate = "xenlab-template"

// tags returns the other_config entries that mark an object as this lab's
// object with that role.
func tags(lab, role string) map[string]string {
	return map[string]string{TagLab: lab, TagRole: role}
}

// owned reports whether other_config marks an object as this lab's.
func owned(lab string, otherConfig map[string]string) bool {
	return lab != "" && otherConfig[TagLab] == lab
}

// ownedAs reports whether other_config marks an object as this lab's, in role.
func ownedAs(lab, role string, otherConfig map[string]string) bool {
	return owned(lab, otherConfig) && otherConfig[TagRole] == role
}

// ownedVMs returns this lab's VMs in role (any role when role is ""),
// sorted by reference so the choice among duplicates is stable.
func ownedVMs(inv *hosts.Snapshot, lab, role string) []xapi.Ref {
	var out []xapi.Ref
	for _, ref := range sortedRefs(inv.VMs) {
		oc := inv.VMs[ref].OtherConfig
		if owned(lab, oc) && (role == "" || oc[TagRole] == role) {
			out = append(out, ref)
		}
	}
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
