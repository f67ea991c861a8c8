package cli

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/collect"
	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/localrc"
	"xenlab/secret"
	"xenlab/steps"
)

// failingStack is a devstack checkout's stack.sh that fails after writing
// what a real failure leaves: the xapi password read from localrc on its
// output (which must not survive collection), an agent's log, and a file
// only its owner may read (which must be left out).
const failingStack = `#!/bin/bash
echo "stack.sh: starting with $(grep ^XENAPI_PASSWORD= localrc)"
mkdir -p /opt/stack/logs
echo "q-agt: cannot reach xapi" > /opt/stack/logs/screen-q-agt.log
echo "private" > /opt/stack/logs/private.log && chmod 600 /opt/stack/logs/private.log
echo "no such package: rabbitmq-server" >&2
exit 3
`

// TestFailedUpLeavesLogs: an up whose stack.sh fails (a devstack checkout
// uploaded with devstack.source) exits 1 and leaves, in --log-dir, the
// step output, dom0's xapi and Open vSwitch logs, both switches, domU's
// devstack logs but its 0600 file, and the lab's xapi objects; no
// collected file holds the lab's passwords.
func TestFailedUpLeavesLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if why := devstack.Unavailable(h.Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
	src := t.TempDir()
	for p, body := range devstack.GuestFiles() {
		if rel, ok := strings.CutPrefix(p, devstack.TreeDir+"/"); ok {
			if rel == "stack.sh" {
				body = failingStack
			}
			f := filepath.Join(src, rel)
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	labSrc, err := os.ReadFile(h.Endpoints().LabFile)
	if err != nil {
		t.Fatal(err)
	}
	lab := filepath.Join(filepath.Dir(h.Endpoints().LabFile), "lab-source.hcl") // beside its password file
	if err := os.WriteFile(lab, append(labSrc, "\ndevstack {\n  source = \""+src+"\"\n}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := localrc.Load(lab)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()

	code, _, stderr := run(t, "", false, "up", "-f", lab, "--log-dir", base)
	if code != ExitFailed || !strings.Contains(stderr, "stack.sh failed (exit 3)") {
		t.Fatalf("exit %d, want %d and stack.sh's failure; stderr:\n%s", code, ExitFailed, stderr)
	}
	dir := collect.HostDir(base, cfg.Lab, cfg.Hosts[0].Name)
	if !strings.Contains(stderr, "logs in "+dir) {
		t.Errorf("stderr does not say where the logs are:\n%s", stderr)
	}
	host := hosts.New(cfg.Hosts[0], hosts.Options{})
	defer host.Close(ctx)
	snap, err := host.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bridges := steps.LabBridges(snap, cfg)
	if len(bridges) < 3 {
		t.Errorf("lab bridges %v, want the VM, public and integration networks' and the management one", bridges)
	}
	want := map[string]string{
		"xenlab-steps.log":                  "no such package: rabbitmq-server",
		"steps/agents.log":                  "apply output: uploaded " + src,
		"steps/preflight.log":               "apply done",
		"dom0/xensource.log":                "xapi: [",
		"dom0/openvswitch/ovs-vswitchd.log": "|bridge|INFO|bridge ",
		"dom0/ovs-vsctl-show.txt":           "Bridge ",
		"domU/ovs-vsctl-show.txt":           "ovs_version", // stack.sh failed before it made a bridge
		"domU/logs/xenlab-stack.log":        "stack.sh: starting with XENAPI_PASSWORD='" + secret.Redacted + "'",
		"domU/logs/screen-q-agt.log":        "q-agt: cannot reach xapi",
		"xapi-objects.json":                 `"NameLabel": "` + cfg.DomU.Name + `"`,
		collect.ManifestName:                "domU/logs/private.log: left out (mode 600",
	}
	for _, br := range bridges {
		want["dom0/ovs-ofctl-dump-flows-"+br+".txt"] = "NXST_FLOW reply"
	}
	for f, s := range want {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if !strings.Contains(string(b), s) {
			t.Errorf("%s lacks %q:\n%s", f, s, b)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(dir, collect.ManifestName))
		t.Logf("MANIFEST:\n%s", b)
	}
	var objs map[string]json.RawMessage
	if b, err := os.ReadFile(filepath.Join(dir, "xapi-objects.json")); err == nil && json.Unmarshal(b, &objs) != nil {
		t.Errorf("xapi-objects.json is not JSON")
	}
	secrets := []string{cfg.Hosts[0].XAPIPassword.Reveal(), cfg.DomU.Password.Reveal()}
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(string(b), s) {
				t.Errorf("%s holds a secret of the lab", p)
			}
		}
		if filepath.Base(p) == "private.log" {
			t.Errorf("%s (mode 0600 in domU) was collected", p)
		}
		return nil
	})
	if files < len(want) {
		t.Errorf("%d files collected, want at least %d", files, len(want))
	}

	// xenlab logs: the same on demand, without a run's step output.
	again := t.TempDir()
	code, _, stderr = run(t, "", false, "logs", "-f", lab, again)
	dir = collect.HostDir(again, cfg.Lab, cfg.Hosts[0].Name)
	if code != ExitOK || !strings.Contains(stderr, "logs in "+dir) {
		t.Errorf("xenlab logs: exit %d, want 0 and where; stderr:\n%s", code, stderr)
	}
	for _, f := range []string{"dom0/xensource.log", "domU/logs/xenlab-stack.log", "xapi-objects.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("xenlab logs: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "xenlab-steps.log")); err == nil {
		t.Errorf("xenlab logs wrote a step log without a run")
	}
}
