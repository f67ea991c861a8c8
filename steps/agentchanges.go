package steps

import (
	"context"
	"path"
	"strings"

	"xenlab/hosts/ssh"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
)

// What the agents step's changes are made by: the files in domU are
// rewritten and stack.sh runs again, which on a real host installs and
// starts OpenStack's services anew.
const costRestack = "stack.sh runs again in domU (20-40 minutes on a real host)"

// settingFields names the lab-file field behind each setting the agents
// step writes into domU (localrc's NAME, an ini file's [section] key).
var settingFields = map[string]string{
	"XENAPI_CONNECTION_URL":               "host.xapi_url",
	"XENAPI_USER":                         "host.xapi_user",
	"XENAPI_PASSWORD":                     "host.xapi_password",
	"ENABLED_SERVICES":                    "devstack.base_services / devstack.enabled_services",
	"Q_PLUGIN":                            "quantum.plugin",
	"OVS_VLAN_RANGES":                     "quantum.physical_network / quantum.vlan_range",
	"PHYSICAL_NETWORK":                    "quantum.physical_network",
	"FLAT_NETWORK_BRIDGE":                 "quantum.agent.q-agt.physical_bridge (the bridge of networks.vm)",
	"XEN_INTEGRATION_BRIDGE":              "quantum.agent.q-agt.integration_bridge (the bridge of networks.integration)",
	"STACK_USER":                          "domu.ssh_user",
	"[ovs] network_vlan_ranges":           "quantum.physical_network / quantum.vlan_range",
	"[ovs] tenant_network_type":           "quantum.tenant_network_type",
	"[xenapi] xenapi_connection_url":      "host.xapi_url",
	"[xenapi] xenapi_connection_username": "host.xapi_user",
	"[xenapi] xenapi_connection_password": "host.xapi_password",
}

// agentField names the lab-file field of a setting in one of the agents'
// files.
func agentField(file, key string) string {
	if f, ok := settingFields[key]; ok {
		return f
	}
	agent := ""
	switch file {
	case QAgtPath:
		agent = "quantum.agent.q-agt."
	case QDomUAPath:
		agent = "quantum.agent.q-domua."
	}
	switch {
	case agent != "" && key == "[ovs] integration_bridge":
		return agent + "integration_bridge"
	case agent != "" && key == "[ovs] bridge_mappings":
		return agent + "physical_bridge / quantum.physical_network"
	case file == DevstackDir+"/localrc":
		return "devstack.extra " + key
	}
	return path.Base(file) + " " + key
}

// settings reads a localrc (NAME=value) or ini file ([section] key = value)
// into its settings by name; comments and blank lines are skipped.
func settings(data []byte) map[string]string {
	out := map[string]string{}
	section := ""
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section = l + " "
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		out[section+strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// reportFileChanges tells a plan, setting by setting, how the agents'
// files in domU differ from what xenlab renders now (each made by
// running stack.sh again). It reads the files only during a plan. A
// value that holds a password, or of a setting named like a credential,
// is shown as redacted.
func reportFileChanges(ctx context.Context, c *ssh.Client, files []agentFile, sums map[string]string, pw ...secret.Secret) {
	if !provision.ChangesWanted(ctx) {
		return
	}
	for _, f := range files {
		if sums[f.path] == sum(f.data) {
			continue
		}
		if _, ok := sums[f.path]; !ok {
			provision.ReportChanges(ctx, provision.Change{Field: f.path, From: "(missing)", To: "as xenlab renders it",
				How: provision.Restack, Cost: costRestack})
			continue
		}
		old, err := c.Download(ctx, f.path)
		if err != nil {
			old = nil
		}
		provision.ReportChanges(ctx, settingChanges(f.path, old, f.data, pw...)...)
	}
}

// settingChanges compares the old and new content of one of the agents'
// files setting by setting (see reportFileChanges); old nil is a file
// that could not be read.
func settingChanges(file string, old, new []byte, pw ...secret.Secret) []provision.Change {
	whole := provision.Change{Field: file, From: "another content", To: "as xenlab renders it", How: provision.Restack, Cost: costRestack}
	if old == nil || !strings.HasSuffix(file, ".ini") && !strings.HasSuffix(file, ".domU") &&
		!strings.HasSuffix(file, "/localrc") && !strings.HasSuffix(file, ".conf") {
		return []provision.Change{whole}
	}
	redact := func(key, v string) string {
		if v == "" {
			return v
		}
		name := key
		if _, k, ok := strings.Cut(key, "] "); ok {
			name = k
		}
		if localrc.SensitiveName(name) {
			return secret.Redacted
		}
		return secret.Scrub(v, pw...)
	}
	have, want := settings(old), settings(new)
	var out []provision.Change
	for _, k := range sortedKeys(union(have, want)) {
		if have[k] == want[k] {
			continue
		}
		out = append(out, provision.Change{Field: agentField(file, k) + " (" + path.Base(file) + ")",
			From: redact(k, have[k]), To: redact(k, want[k]), How: provision.Restack, Cost: costRestack})
	}
	if len(out) == 0 { // comments or layout only
		whole.From = "another layout"
		return []provision.Change{whole}
	}
	return out
}

func union(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// cloneChanges compares domU's devstack checkout with devstack.repo and
// devstack.branch: its origin, and the branch (or tag, a detached HEAD
// after `git clone -b havana-eol`) it is on. A checkout of another repo
// or branch is cloned again and stack.sh runs again. Nothing is reported
// when there is no checkout yet (the first stack makes it).
func cloneChanges(ctx context.Context, c *ssh.Client, d localrc.Devstack) ([]provision.Change, error) {
	cmd := "cd " + DevstackDir + " 2>/dev/null && test -d .git && { echo \"origin=$(git config --get remote.origin.url)\"; " +
		"echo \"ref=$(git symbolic-ref -q --short HEAD || git describe --tags --exact-match HEAD 2>/dev/null)\"; }; true"
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	if len(got) == 0 {
		return nil, nil
	}
	var out []provision.Change
	if got["origin"] != d.Repo {
		out = append(out, provision.Change{Field: "devstack.repo", From: redactURL(got["origin"]), To: redactURL(d.Repo),
			How: provision.Restack, Cost: "devstack is cloned again; " + costRestack})
	}
	if got["ref"] != d.Branch {
		out = append(out, provision.Change{Field: "devstack.branch", From: got["ref"], To: d.Branch,
			How: provision.Restack, Cost: "devstack is cloned again; " + costRestack})
	}
	return out, nil
}
