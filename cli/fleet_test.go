package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/provision/render/rendertest"
)

// startFleet starts n simulated hosts and writes a lab file naming them
// xs1..xsN. Host failing (if any) is given a wrong xapi password: every
// step that logs in to it fails, as on a host whose password changed.
func startFleet(t *testing.T, n int, failing string) (lab string, sims []*sim.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var b strings.Builder
	b.WriteString("lab = \"fleet\"\n")
	for i := range n {
		h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		sims = append(sims, h)
		ep := h.Endpoints()
		name := fmt.Sprintf("xs%d", i+1)
		password := fmt.Sprintf("file(%q)", ep.PasswordFile)
		if name == failing {
			password = `"not-the-password"`
		}
		_, port, _ := net.SplitHostPort(ep.Dom0SSH)
		fmt.Fprintf(&b, `host %q {
  xapi_url         = %q
  xapi_user        = "root"
  xapi_password    = %s
  xapi_fingerprint = %q
  ssh_port         = %s
  ssh_user         = "root"
  ssh_key          = %q
  known_hosts      = %q
}
`, name, ep.XAPIURL, password, ep.XAPIFingerprint, port, ep.SSHKey, ep.KnownHosts)
	}
	ep := sims[0].Endpoints()
	fmt.Fprintf(&b, "domu {\n  template_from = \"existing\"\n  password = file(%q)\n  ssh_port = %d\n}\n", ep.PasswordFile, ep.GuestSSHPort)
	return writeFile(t, t.TempDir(), "fleet.hcl", b.String()), sims
}

// junitSuites reads a JUnit file's suites: name, failures, testcases.
func junitSuites(t *testing.T, path string) map[string][2]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string     `xml:"name,attr"`
			Failures int        `xml:"failures,attr"`
			Cases    []struct{} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	out := map[string][2]int{}
	for _, s := range doc.Suites {
		out[s.Name] = [2]int{s.Failures, len(s.Cases)}
	}
	return out
}

// jsonSummary is the last line of a --json run.
func jsonSummary(t *testing.T, stdout string) (failed []string, outcomes map[string]string, exit int) {
	t.Helper()
	var last string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		last = sc.Text()
	}
	var s struct {
		Kind        string
		ExitCode    int      `json:"exit_code"`
		FailedHosts []string `json:"failed_hosts"`
		Hosts       []struct{ Name, Outcome string }
	}
	if err := json.Unmarshal([]byte(last), &s); err != nil || s.Kind != "summary" {
		t.Fatalf("last line %q: %v", last, err)
	}
	outcomes = map[string]string{}
	for _, h := range s.Hosts {
		outcomes[h.Name] = h.Outcome
	}
	return s.FailedHosts, outcomes, s.ExitCode
}

// TestFleetOneHostFails: a fleet of three simulated hosts comes up,
// resets and goes down in one run each, with xs2 made to fail on purpose
// (a wrong xapi password): the others, one before it and one after,
// succeed; the exit code, the error line, the JSON summary and the
// per-host JUnit suites (valid against junit-10.xsd) name exactly xs2;
// xs2's logs are collected and hold no secret, and no other host's are.
// With -short only down runs.
func TestFleetOneHostFails(t *testing.T) {
	t.Chdir(t.TempDir())
	lab, sims := startFleet(t, 3, "xs2")
	if why := devstack.Unavailable(sims[0].Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
	names := []string{"xs1", "xs2", "xs3"}
	secrets := []string{"not-the-password"}
	for _, h := range sims {
		pw, err := os.ReadFile(h.Endpoints().PasswordFile)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(pw)))
	}
	dir := t.TempDir()
	check := func(cmd, phase, junit, logs, stdout, stderr string, code int) {
		t.Helper()
		if code != ExitFailed || !strings.Contains(stderr, "1 of 3 hosts failed (xs2)") {
			t.Fatalf("%s: exit %d, want %d naming xs2; stderr:\n%s", cmd, code, ExitFailed, stderr)
		}
		failed, outcomes, exit := jsonSummary(t, stdout)
		if !slices.Equal(failed, []string{"xs2"}) || exit != code {
			t.Fatalf("%s: summary failed_hosts %v, exit %d", cmd, failed, exit)
		}
		suites := junitSuites(t, junit)
		for _, h := range names {
			if want := map[bool]string{true: "failed", false: "ok"}[h == "xs2"]; outcomes[h] != want {
				t.Fatalf("%s: host %s's outcome %q, want %q (all: %v)", cmd, h, outcomes[h], want, outcomes)
			}
			s, ok := suites["xenlab."+phase+"."+h]
			if !ok || (s[0] > 0) != (h == "xs2") || s[1] == 0 {
				t.Fatalf("%s: JUnit suite of %s: %v (failures, cases); all: %v", cmd, h, s, suites)
			}
		}
		rendertest.ValidateJUnit(t, junit)
		for _, pw := range secrets {
			if strings.Contains(stdout+stderr, pw) {
				t.Fatalf("%s: a password appears in the output", cmd)
			}
		}
		if logs == "" {
			return
		}
		// The failed host's logs, and only its own, with no secret.
		for _, h := range names {
			_, err := os.Stat(filepath.Join(logs, "fleet", h, "MANIFEST"))
			if (err == nil) != (h == "xs2") {
				t.Fatalf("%s: logs of %s: %v (only xs2's are collected)", cmd, h, err)
			}
		}
		files := 0
		err := filepath.WalkDir(filepath.Join(logs, "fleet", "xs2"), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			data, err := os.ReadFile(path)
			for _, pw := range secrets {
				if strings.Contains(string(data), pw) {
					t.Errorf("%s: %s holds a password", cmd, path)
				}
			}
			return err
		})
		if err != nil || files < 2 {
			t.Fatalf("%s: xs2's logs: %d files, %v", cmd, files, err)
		}
	}

	if testing.Short() {
		junit := filepath.Join(dir, "down.xml")
		code, stdout, stderr := run(t, "", false, "down", "--yes", "-f", lab, "--json", "--junit", junit, "--log-dir", "")
		check("down", "destroy", junit, "", stdout, stderr, code)
		return
	}
	for _, c := range []struct{ cmd, phase string }{{"up", "apply"}, {"reset", "apply"}, {"down", "destroy"}} {
		junit, logs := filepath.Join(dir, c.cmd+".xml"), filepath.Join(dir, c.cmd+"-logs")
		args := []string{c.cmd, "-f", lab, "--json", "--junit", junit, "--log-dir", logs}
		if c.cmd == "down" {
			args = append(args, "--yes")
		}
		code, stdout, stderr := run(t, "", false, args...)
		check(c.cmd, c.phase, junit, logs, stdout, stderr, code)
	}
}
