package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
)

// TestUpOnSimulatedHost runs `xenlab up --json --junit` against a simulated
// host: the steps that exist run for real through the engine, the JSON
// lines and the JUnit file parse back, and the command still exits 1
// because the rest of the bring-up is not built.
func TestUpOnSimulatedHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	junit := filepath.Join(t.TempDir(), "report.xml")

	code, stdout, stderr := run(t, "", false, "up", "-f", h.Endpoints().LabFile, "--json", "--junit", junit)
	if code != ExitFailed || !strings.Contains(stderr, "not built yet") {
		t.Fatalf("exit %d, want %d with 'not built yet'; stderr:\n%s", code, ExitFailed, stderr)
	}
	kinds := map[string]int{}
	var counters map[string]struct {
		XAPIRoundTrips int64 `json:"xapi_round_trips"`
		SSHHandshakes  int64 `json:"ssh_handshakes"`
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev struct {
			Step, Kind, Line string
			Counters         json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		if ev.Step == "preflight" {
			kinds[ev.Kind]++
		}
		if ev.Counters != nil {
			if err := json.Unmarshal(ev.Counters, &counters); err != nil {
				t.Fatal(err)
			}
		}
	}
	if kinds["started"] != 1 || kinds["done"] != 1 || kinds["output"] < 3 {
		t.Fatalf("preflight events %v; stdout:\n%s", kinds, stdout)
	}
	// One login and one SSH connection for the whole run; the round trips
	// are counted, not guessed.
	if c := counters["sim"]; c.SSHHandshakes != 1 || c.XAPIRoundTrips < 2 {
		t.Fatalf("counters %+v; stdout:\n%s", counters, stdout)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("JUnit report: %v\n%s", err, b)
	}
	if len(suites.Suites) != 1 || len(suites.Suites[0].Cases) != 1 ||
		suites.Suites[0].Cases[0].Name != "preflight" || suites.Suites[0].Cases[0].Failure != nil {
		t.Fatalf("JUnit report:\n%s", b)
	}
	if pw, _ := os.ReadFile(h.Endpoints().PasswordFile); strings.Contains(stdout+stderr+string(b), string(pw)) {
		t.Fatal("the root password appears in the run's output")
	}
}
