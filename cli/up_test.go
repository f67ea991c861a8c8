package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/internal/schemacheck"
	"xenlab/provision/render/rendertest"
)

// TestUpOnSimulatedHost runs `xenlab up --json --junit` against a simulated
// host: the steps that exist run for real through the engine, the JSON
// lines and the JUnit file parse back, and the command still exits 1
// because the rest of the bring-up is not built. The reports say so too
// (defect 2): every JSON line has its kind, the summary's outcome and
// exit code are the process's, the JUnit report counts the failure and
// validates against junit-10.xsd (defect 8). Every JSON line of up, plan
// and down validates against docs/events.schema.json.
func TestUpOnSimulatedHost(t *testing.T) {
	schema, err := schemacheck.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if why := devstack.Unavailable(h.Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
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
	var last struct {
		Kind, Outcome string
		ExitCode      *int `json:"exit_code"`
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
		if ev.Kind == "" {
			t.Errorf("a JSON line without its kind: %s", sc.Text())
		}
		if ev.Step == "preflight" {
			kinds[ev.Kind]++
		}
		if ev.Counters != nil {
			if ev.Kind != "counters" {
				t.Errorf("the counters line has kind %q", ev.Kind)
			}
			if err := json.Unmarshal(ev.Counters, &counters); err != nil {
				t.Fatal(err)
			}
		}
		json.Unmarshal(sc.Bytes(), &last)
	}
	if _, err := schema.ValidateLines(stdout); err != nil {
		t.Errorf("up --json against docs/events.schema.json: %v", err)
	}
	if kinds["started"] != 1 || kinds["done"] != 1 || kinds["output"] < 3 {
		t.Fatalf("preflight events %v; stdout:\n%s", kinds, stdout)
	}
	if last.Kind != "summary" || last.Outcome != "failed" || last.ExitCode == nil || *last.ExitCode != code {
		t.Fatalf("the last line is not a summary that says what the exit code says (%d): %+v", code, last)
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
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("JUnit report: %v\n%s", err, b)
	}
	if suites.Failures != 1 || len(suites.Suites) != 1 || len(suites.Suites[0].Cases) < 3 {
		t.Fatalf("JUnit report of a run that exits 1:\n%s", b)
	}
	cases := suites.Suites[0].Cases
	for _, c := range cases[:len(cases)-1] {
		if c.Failure != nil {
			t.Errorf("step %s failed in the JUnit report:\n%s", c.Name, b)
		}
	}
	if cases[0].Name != "preflight" || cases[len(cases)-1].Name != "run" || cases[len(cases)-1].Failure == nil {
		t.Fatalf("JUnit report of a run that exits 1:\n%s", b)
	}
	if pw, _ := os.ReadFile(h.Endpoints().PasswordFile); strings.Contains(stdout+stderr+string(b), string(pw)) {
		t.Fatal("the root password appears in the run's output")
	}
	rendertest.ValidateJUnit(t, junit)

	// After up: plan has nothing to do, status shows the lab, down
	// removes it, and then plan has work again.
	lab := h.Endpoints().LabFile
	if code, out, stderr := run(t, "", false, "plan", "-f", lab, "--detailed-exitcode"); code != ExitOK {
		t.Fatalf("plan after up: exit %d, want 0 (nothing to do):\n%s%s", code, out, stderr)
	}
	if code, out, stderr := run(t, "", false, "plan", "-f", lab, "--json"); code != ExitOK {
		t.Fatalf("plan --json after up: exit %d:\n%s%s", code, out, stderr)
	} else if kinds, err := schema.ValidateLines(out); err != nil || kinds["plan"] != 1 {
		t.Errorf("plan --json against docs/events.schema.json: %v (kinds %v)", err, kinds)
	}
	code, out, stderr := run(t, "", false, "status", "-f", lab)
	if code != ExitOK || !strings.Contains(out, "4095") || !strings.Contains(out, "OpenStack VM Integration Network") {
		t.Fatalf("status after up: exit %d:\n%s%s", code, out, stderr)
	}
	code, out, stderr = run(t, "", false, "status", "-f", lab, "--json")
	var st struct {
		Networks []struct{ Bridge string }
		DomU     *struct {
			PowerState string `json:"power_state"`
		} `json:"domu"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != ExitOK || err != nil || len(st.Networks) < 3 || st.DomU == nil || st.DomU.PowerState != "Running" {
		t.Fatalf("status --json after up: exit %d, %v:\n%s%s", code, err, out, stderr)
	}
	if code, out, stderr := run(t, "", false, "down", "-f", lab, "--yes", "--json"); code != ExitOK {
		t.Fatalf("down: exit %d:\n%s%s", code, out, stderr)
	} else if kinds, err := schema.ValidateLines(out); err != nil || kinds["summary"] != 1 || kinds["counters"] != 1 {
		t.Errorf("down --json against docs/events.schema.json: %v (kinds %v)", err, kinds)
	}
	if code, out, stderr := run(t, "", false, "plan", "-f", lab, "--detailed-exitcode"); code != ExitPending {
		t.Fatalf("plan after down: exit %d, want %d:\n%s%s", code, ExitPending, out, stderr)
	}
}

// silentXAPI is a xapi that accepts connections and never answers: a
// step that talks to it waits until its time limit or an interruption.
// accepted receives each connection as it is accepted.
func silentXAPI(t *testing.T) (url string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "https://" + ln.Addr().String(), ch
}

// silentLab is a lab file for a host behind silentXAPI, with extra text.
func silentLab(t *testing.T, url, extra string) string {
	return writeFile(t, t.TempDir(), "lab.hcl", `lab = "ci"
host "xs1" {
  xapi_url      = "`+url+`"
  xapi_password = env("XENLAB_TEST_UNSET_PASSWORD", "from-default")
}
`+extra)
}

// TestStepTimeoutFromLabFile (defect 3): the lab file's timeouts.step is
// the default time limit of a step, and --step-timeout overrides it.
func TestStepTimeoutFromLabFile(t *testing.T) {
	url, _ := silentXAPI(t)
	lab := silentLab(t, url, "timeouts {\n  step = \"300ms\"\n}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "-f", lab}, "timed out after 300ms"},
		{[]string{"up", "-f", lab, "--step-timeout", "200ms"}, "timed out after 200ms"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out, errb strings.Builder
		code := Main(ctx, c.args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		cancel()
		if code != ExitFailed || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, want %d and %q; stderr:\n%s", c.args, code, ExitFailed, c.want, errb.String())
		}
	}
}

// TestInterruptedRunSaysWhat: a run interrupted by a signal exits 128+n
// and says what it interrupted, not "context canceled" (defect 1).
func TestInterruptedRunSaysWhat(t *testing.T) {
	url, accepted := silentXAPI(t)
	lab := silentLab(t, url, "")
	for _, c := range []struct {
		sig  error
		code int
		want string
	}{
		{SignalCause(os.Interrupt), ExitInterrupted, "xenlab up: apply interrupted: Ctrl-C (SIGINT): 1 canceled (preflight)"},
		{SignalCause(terminate), ExitTerminated, "xenlab up: apply interrupted: SIGTERM: 1 canceled (preflight)"},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		var out, errb lockedBuilder
		done := make(chan int, 1)
		go func() {
			done <- Main(ctx, []string{"up", "-f", lab, "--json"}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		}()
		select {
		case <-accepted: // preflight is waiting for xapi's answer
		case <-time.After(20 * time.Second):
			t.Fatal("up never connected to xapi")
		}
		cancel(c.sig)
		code := <-done
		if code != c.code || !strings.Contains(errb.String(), c.want) || strings.Contains(errb.String(), "context canceled") {
			t.Errorf("exit %d, want %d; stderr %q, want %q", code, c.code, errb.String(), c.want)
		}
		if !strings.Contains(out.String(), `"outcome":"interrupted","exit_code":`+itoa(c.code)) {
			t.Errorf("the JSON summary does not say the exit code %d:\n%s", c.code, out.String())
		}
	}
}
