package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

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
	// A clone of it in progress (clone.go) carries its tags too.
	_, clone := cloneInProgress(inv, lab.Lab)
	for _, r := range ownedVMs(inv, lab.Lab, RoleTemplate) {
		if rec := inv.VMs[r]; rec.IsATemplate && !rec.IsASnapshot && (clone == "" || rec.NameLabel != clone) {
			return r, nil
		}
	}
	return "", nil
}

// TagInstall, in the lab's template's other_config, says what it was
// installed from (installInputs): an edit of any of those lab-file fields
// rebuilds the template, and domU from it.
const TagInstall = "xenlab-install"

// installInputs are the lab-file fields a template install reads, as
// "field=value" words: the Ubuntu release, architecture, mirror, proxy
// and installer address, and the preseed (by digest).
func installInputs(lab *localrc.Config) (map[string]string, error) {
	u := lab.DomU.Ubuntu
	preseed, err := preseedFor(lab)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(preseed)
	return map[string]string{
		"domu.ubuntu.release":     u.Release,
		"domu.ubuntu.arch":        u.Arch,
		"domu.ubuntu.mirror_host": u.MirrorHost,
		"domu.ubuntu.mirror_dir":  u.MirrorDir,
		"domu.ubuntu.proxy":       u.Proxy,
		"domu.ubuntu.ip":          u.IP.String(),
		"domu.ubuntu.preseed":     "sha256:" + hex.EncodeToString(sum[:8]),
	}, nil
}

// encodeInputs and decodeInputs write installInputs into one other_config
// value and read it back ("field=value" words, values without blanks
// escaped as %20).
func encodeInputs(in map[string]string) string {
	var words []string
	for _, k := range sortedKeys(in) {
		words = append(words, k+"="+strings.ReplaceAll(strings.ReplaceAll(in[k], "%", "%25"), " ", "%20"))
	}
	return strings.Join(words, " ")
}

func decodeInputs(s string) map[string]string {
	out := map[string]string{}
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		out[k] = strings.ReplaceAll(strings.ReplaceAll(v, "%20", " "), "%25", "%")
	}
	return out
}

// costTemplate is what rebuilding the template costs.
const costTemplate = "the template is installed again (an Ubuntu netinstall, minutes on a real host), then domU is rebuilt from it"

// changes compares the lab's template with the lab file: its name
// (renamed in place), the install it came from and its disk (installed
// again), and rebuild_template (installed again on every up, as
// devstack's CLEAN_TEMPLATES=true did). A template used as it is
// (template_from = "existing") is never changed: it must have a root
// disk of at least domu.disk.
func (t *template) changes(inv *hosts.Snapshot, ref xapi.Ref) ([]provision.Change, error) {
	rec := inv.VMs[ref]
	_, size := rootDisk(inv, ref)
	if t.lab.DomU.TemplateFrom == localrc.TemplateExisting {
		if size != 0 && size < t.lab.DomU.Disk.Bytes() {
			return nil, fmt.Errorf("domu.disk = %s, but the template %q (used as it is: template_from = %q) has a root disk of %s; "+
				"lower domu.disk or let xenlab build the template (template_from = %q)", t.lab.DomU.Disk, rec.NameLabel,
				localrc.TemplateExisting, localrc.Size(size), localrc.TemplateInstall)
		}
		return nil, nil
	}
	var out []provision.Change
	if t.lab.DomU.RebuildTemplate {
		return []provision.Change{{Field: "domu.rebuild_template", From: fmt.Sprintf("%s (%s)", rec.NameLabel, rec.UUID),
			To: "a new install", How: provision.DomURebuilt, Cost: costTemplate + "; on every up while rebuild_template = true"}}, nil
	}
	if size != 0 && size != t.lab.DomU.Disk.Bytes() {
		out = append(out, provision.Change{Field: "domu.disk", From: localrc.Size(size).String(), To: t.lab.DomU.Disk.String(),
			How: provision.DomURebuilt, Cost: costTemplate})
	}
	if had, ok := rec.OtherConfig[TagInstall]; ok {
		want, err := installInputs(t.lab)
		if err != nil {
			return nil, err
		}
		have := decodeInputs(had)
		for _, k := range sortedKeys(want) {
			if have[k] != want[k] {
				out = append(out, provision.Change{Field: k, From: have[k], To: want[k], How: provision.DomURebuilt, Cost: costTemplate})
			}
		}
	}
	if len(out) == 0 && rec.NameLabel != t.lab.DomU.Template {
		out = append(out, provision.Change{Field: "domu.template", From: rec.NameLabel, To: t.lab.DomU.Template, How: provision.InPlace,
			Cost: "the template is renamed"})
	}
	return out, nil
}

func (t *template) Check(ctx context.Context) (bool, error) {
	inv, err := t.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	ref, err := findTemplate(inv, t.lab)
	if err != nil || ref == "" {
		return false, err
	}
	cs, err := t.changes(inv, ref)
	if err != nil {
		return false, err
	}
	provision.ReportChanges(ctx, cs...)
	return len(cs) == 0, nil
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
	var old xapi.Ref // the template a rebuild replaces
	if ref != "" {
		cs, err := t.changes(inv, ref)
		if err != nil {
			return err
		}
		switch {
		case len(cs) == 0:
			out.Line("template %q (%s)", inv.VMs[ref].NameLabel, ref)
			return nil
		case cs[0].How == provision.InPlace:
			c, err := t.host.XAPI(ctx)
			if err != nil {
				return err
			}
			defer t.host.Changed()
			if err := c.VMSetNameLabel(ctx, ref, t.lab.DomU.Template); err != nil {
				return err
			}
			out.Line("renamed template %q to %q", inv.VMs[ref].NameLabel, t.lab.DomU.Template)
			return nil
		}
		for _, c := range cs {
			out.Line("%s: installing the template again", c)
		}
		old = ref
	}
	if t.lab.DomU.TemplateFrom == localrc.TemplateExisting {
		return fmt.Errorf("domu.template: no template named %q (domu.template_from = %q uses it as it is; "+
			"%q builds one)", t.lab.DomU.Template, localrc.TemplateExisting, localrc.TemplateInstall)
	}
	defer t.host.Changed()
	inputs, err := installInputs(t.lab)
	if err != nil {
		return err
	}
	tg := tags(t.lab.Lab, RoleTemplate)
	tg[TagInstall] = encodeInputs(inputs)
	ref, err = installTemplate(ctx, t.host, t.lab, tg)
	if err != nil {
		return err
	}
	out.Line("built template %q (%s)", t.lab.DomU.Template, ref)
	if old != "" {
		// The new template is made: the old one goes, with its disks
		// (domU's own disks are copies, so domU keeps running until the
		// domU step rebuilds it from the new template).
		c, err := t.host.XAPI(ctx)
		if err != nil {
			return err
		}
		n, err := removeVMOf(ctx, c, inv, old)
		if err != nil {
			return fmt.Errorf("removing the template the new one replaces: %w", err)
		}
		out.Line("destroyed VM %q (%s) and %d disk(s)", inv.VMs[old].NameLabel, inv.VMs[old].UUID, n)
	}
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
