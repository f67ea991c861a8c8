package devstack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/hosts/sim/devstack"
)

// bashLib runs script after sourcing the stand-in's lib/standin on this
// machine (no guest: the functions that only read their arguments and
// files) and returns stdout, stderr and the exit status.
func bashLib(t *testing.T, env []string, script string) (string, string, int) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	lib := filepath.Join(t.TempDir(), "standin")
	if err := os.WriteFile(lib, []byte(devstack.GuestFiles()[devstack.TreeDir+"/lib/standin"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "source "+lib+"\n"+script)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestCmdlineBridges: the bridges come from the kernel command line as
// Havana's sed reads them: the key must follow a space, the value is
// alphanumeric; a missing key is an error naming it.
func TestCmdlineBridges(t *testing.T) {
	for _, tc := range []struct{ cmdline, key, want, wantErr string }{
		{"-- quiet console=hvc0 flat_network_bridge=xapi1 xen_integration_bridge=xapi2", "xen_integration_bridge", "xapi2", ""},
		{"-- quiet console=hvc0 flat_network_bridge=xapi1 xen_integration_bridge=xapi2", "flat_network_bridge", "xapi1", ""},
		{"root=/dev/xvda1 xen_integration_bridge=xapi2-x", "xen_integration_bridge", "xapi2", ""},
		{"-- quiet console=hvc0 flat_network_bridge=xapi1", "xen_integration_bridge", "",
			"has no ' xen_integration_bridge=<bridge>'"},
		{"xen_integration_bridge=xapi2", "xen_integration_bridge", "", "has no ' xen_integration_bridge=<bridge>'"},
	} {
		f := filepath.Join(t.TempDir(), "cmdline")
		if err := os.WriteFile(f, []byte(tc.cmdline+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := bashLib(t, []string{"STANDIN_PROC_CMDLINE=" + f}, "cmdline_value "+tc.key)
		if tc.wantErr != "" {
			if code == 0 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("%q %s: exit %d, stderr %q, want an error with %q", tc.cmdline, tc.key, code, errOut, tc.wantErr)
			}
			continue
		}
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("%q %s: %q (exit %d, %s), want %q", tc.cmdline, tc.key, out, code, errOut, tc.want)
		}
	}
}

// TestServices: ENABLED_SERVICES as devstack reads it, "-name" negation
// included.
func TestServices(t *testing.T) {
	out, _, _ := bashLib(t, nil, `ENABLED_SERVICES=key,n-net,q-svc,q-agt,-n-net,-q-agt
for s in ${ENABLED_SERVICES//,/ }; do [[ $s != -* ]] || disable_service "${s#-}" "$s"; done
for s in key n-net q-svc q-agt neutron; do is_service_enabled $s && echo $s; done`)
	if got := strings.Fields(out); strings.Join(got, " ") != "key q-svc neutron" {
		t.Errorf("enabled: %q, want key q-svc neutron", got)
	}
}

// TestSortPorts: the comparison of switches does not depend on the order
// real Open vSwitch prints ports in, but still on which bridge holds them.
func TestSortPorts(t *testing.T) {
	a := "uuid\n    Bridge b1\n        Port p2\n            Interface p2\n        Port p1\n            tag: 1\n            Interface p1\n    Bridge b2\n        Port q\n            Interface q\n    ovs_version: \"3.1.0\"\nb1:\n priority=0 actions=NORMAL"
	b := "uuid\n    Bridge b1\n        Port p1\n            tag: 1\n            Interface p1\n        Port p2\n            Interface p2\n    Bridge b2\n        Port q\n            Interface q\n    ovs_version: \"3.1.0\"\nb1:\n priority=0 actions=NORMAL"
	if sortPorts(a) != sortPorts(b) {
		t.Errorf("the same ports in another order compare unequal:\n%s\n%s", sortPorts(a), sortPorts(b))
	}
	moved := strings.Replace(b, "        Port q\n            Interface q\n", "", 1)
	moved = strings.Replace(moved, "    Bridge b1\n", "    Bridge b1\n        Port q\n            Interface q\n", 1)
	if sortPorts(moved) == sortPorts(b) {
		t.Error("a port moved to another bridge compares equal")
	}
}

// TestGitCloneOrigin: the git wrapper's clone of a devstack URL leaves
// origin as `git remote add origin URL` would, whatever the URL: the
// wrapper writes the plain ones into .git/config itself, and any its line
// would not give back unchanged must go through git, which quotes and
// escapes them.
func TestGitCloneOrigin(t *testing.T) {
	if _, err := os.Stat("/usr/bin/git"); err != nil {
		t.Skip("no /usr/bin/git")
	}
	dir := t.TempDir()
	files := devstack.GuestFiles()
	for path, content := range map[string]string{
		"bin/git":                              files[devstack.GitPath],
		"share/xenlab-devstack-standin/README": files[devstack.TreeDir+"/README"],
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1")
	for i, url := range []string{
		"https://opendev.org/openstack/devstack.git",
		"https://example.com/a\tb/devstack",
		" https://example.com/devstack",
		"https://example.com/a#b/devstack",
		"https://example.com/a;b/devstack",
		`https://example.com/a"b/devstack`,
		`https://example.com/a\b/devstack`,
	} {
		clone := filepath.Join(dir, fmt.Sprintf("clone%d", i))
		cmd := exec.Command(filepath.Join(dir, "bin/git"), "clone", "-q", url, clone)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("clone %q: %v: %s", url, err, out)
			continue
		}
		cmd = exec.Command("/usr/bin/git", "-C", clone, "config", "--get-all", "remote.origin.url")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil || string(out) != url+"\n" {
			t.Errorf("clone %q: origin's url %q (%v), want the URL", url, out, err)
		}
	}
}
