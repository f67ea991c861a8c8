package steps

import (
	"context"
	"fmt"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
)

// template makes sure domU's template exists. With domu.template_from =
// "install" it is the lab's own cached template, found by its tag and
// built devstack's way (installTemplate) when missing; it survives down
// unless purged. With "existing" it is the template named domu.template,
// used as it is and never modified or destroyed.
type template struct {
	host *hosts.Host
	lab  *localrc.Config
	// purge makes Destroy remove the lab's cached template too.
	purge bool
}

func (t *template) Name() string   { return "template" }
func (t *template) Deps() []string { return []string{"preflight"} }

// findTemplate returns domU's template, or "" when it is missing.
func findTemplate(inv *hosts.Snapshot, lab *localrc.Config) (xapi.Ref, error) {
	if lab.DomU.TemplateFrom == localrc.TemplateExisting {
		var found []xapi.Ref
		for _, r := range sortedRefs(inv.VMs) {
			if rec := inv.VMs[r]; rec.IsATemplate && !rec.IsASnapshot && rec.NameLabel == lab.DomU.Template {
				found = append(found, r)
			}
		}
		if len(found) > 1 {
			return "", fmt.Errorf("domu.template: %d templates are named %q, want one", len(found), lab.DomU.Template)
		}
		if len(found) == 0 {
			return "", nil
		}
		return found[0], nil
	}
	for _, r := range ownedVMs(inv, lab.Lab, RoleTemplate) {
		if rec := inv.VMs[r]; rec.IsATemplate && !rec.IsASnapshot {
			return r, nil
		}
	}
	return "", nil
}

func (t *template) Check(ctx context.Context) (bool, error) {
	inv, err := t.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	ref, err := findTemplate(inv, t.lab)
	return ref != "", err
}

func (t *template) Apply(ctx context.Context, out provision.Output) error {
	inv, err := t.host.Inventory(ctx)
	if err != nil {
		return err
	}
	ref, err := findTemplate(inv, t.lab)
	if err != nil {
		return err
	}
	if ref != "" {
		out.Line("template %q (%s)", inv.VMs[ref].NameLabel, ref)
		return nil
	}
	if t.lab.DomU.TemplateFrom == localrc.TemplateExisting {
		return fmt.Errorf("domu.template: no template named %q (domu.template_from = %q uses it as it is; "+
			"%q builds one)", t.lab.DomU.Template, localrc.TemplateExisting, localrc.TemplateInstall)
	}
	defer t.host.Changed()
	ref, err = installTemplate(ctx, t.host, t.lab, tags(t.lab.Lab, RoleTemplate))
	if err != nil {
		return err
	}
	out.Line("built template %q (%s)", t.lab.DomU.Template, ref)
	return nil
}

// Destroy removes the lab's cached template only when purging; a template
// used as it is (template_from = "existing") carries no tag and stays.
func (t *template) Destroy(ctx context.Context, out provision.Output) error {
	if !t.purge {
		return nil
	}
	return destroyVMs(ctx, t.host, t.lab, RoleTemplate, out)
}
