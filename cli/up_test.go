package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
	"xenlab/internal/schemacheck"
	"xenlab/localrc"
	"xenlab/provision/render/rendertest"
)

// TestUpOnSimulatedHost runs `xenlab up --json --junit` against a simulated
// host: the whole bring-up runs for real through the engine, the JSON
// lines and the JUnit file parse back, and the command exits 0. The
// reports say so too (defect 2): every JSON line has its kind, the
// summary's outcome and exit code are the process's, the JUnit report
// has no failure and validates against junit-10.xsd (defect 8). Then
// plan, status, reset, the drifts (each named by verify and repaired by
// up: driftsNamedAndRepaired, subtest "drifts") and down run on the lab.
// Every JSON line of up, plan and down validates against
// docs/events.schema.json.
func TestUpOnSimulatedHost(t *testing.T) {
	schema, err := schemacheck.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // verify's failure below collects logs into ./xenlab-logs
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	simOpts := sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf}
	h, err := sim.Start(ctx, simOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { h.Close() }() // the host the drifts below leave (they restart it)
	if why := devstack.Unavailable(h.Endpoints().Isolation); why != "" {
		t.Skip(why)
	}
	junit := filepath.Join(t.TempDir(), "report.xml")

	code, stdout, stderr := run(t, "", false, "up", "-f", h.Endpoints().LabFile, "--json", "--junit", junit)
	if code != ExitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitOK, stderr)
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
	if last.Kind != "summary" || last.Outcome != "ok" || last.ExitCode == nil || *last.ExitCode != code {
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
	if suites.Failures != 0 || len(suites.Suites) != 1 || len(suites.Suites[0].Cases) < 3 {
		t.Fatalf("JUnit report of a run that exits 0:\n%s", b)
	}
	cases := suites.Suites[0].Cases
	for _, c := range cases {
		if c.Failure != nil {
			t.Errorf("step %s failed in the JUnit report:\n%s", c.Name, b)
		}
	}
	if cases[0].Name != "preflight" || cases[len(cases)-1].Name != "snapshot" {
		t.Fatalf("JUnit report of the whole bring-up:\n%s", b)
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
		Kind   string
		Status struct {
			Networks []struct{ Bridge string }
			DomU     *struct {
				PowerState string `json:"power_state"`
			} `json:"domu"`
		}
	}
	if err := json.Unmarshal([]byte(out), &st); code != ExitOK || err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 ||
		st.Kind != "status" || len(st.Status.Networks) < 3 || st.Status.DomU == nil || st.Status.DomU.PowerState != "Running" {
		t.Fatalf("status --json after up: exit %d, %v (want one line of kind status):\n%s%s", code, err, out, stderr)
	}
	if kinds, err := schema.ValidateLines(out); err != nil || kinds["status"] != 1 {
		t.Errorf("status --json against docs/events.schema.json: %v (kinds %v)", err, kinds)
	}
	// The walk-through's view: in status (text and JSON), at the end of
	// the up above (a JSON line of kind "status"), and at the end of a
	// no-op up, plain in a pipe and drawn on a terminal, before the timing
	// table.
	if !strings.Contains(stdout, `{"kind":"status","status":{"host":"sim"`) {
		t.Errorf("up --json has no status line:\n%s", stdout)
	}
	// The view up ends with is the lab as up left it: snapshot resumed
	// domU in a new domain, so the placeholder's port is the one status
	// reads now, not the one verify saw.
	if up, now := placeholderIn(t, stdout), placeholderIn(t, out); up == "" || up != now {
		t.Errorf("up's closing view shows the placeholder on port %q, status on %q", up, now)
	}
	code, out, stderr = run(t, "", false, "status", "-f", lab)
	for _, want := range []string{"(int-br-eth1): addr:", ",dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL", "tag: 4095    <- placeholder"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("status lacks %q: exit %d:\n%s%s", want, code, out, stderr)
		}
	}
	var stU struct {
		Status struct {
			DomUSwitch struct {
				UplinkLine string `json:"uplink_line"`
				LocalVLAN  string `json:"local_vlan"`
				Flows      []string
			} `json:"domu_switch"`
		}
	}
	_, out, _ = run(t, "", false, "status", "-f", lab, "--json")
	if err := json.Unmarshal([]byte(out), &stU); err != nil || stU.Status.DomUSwitch.LocalVLAN != "1" || len(stU.Status.DomUSwitch.Flows) != 1 ||
		!strings.Contains(stU.Status.DomUSwitch.UplinkLine, "(int-br-eth1): addr:") {
		t.Errorf("status --json: domu_switch %+v %v:\n%s", stU.Status.DomUSwitch, err, out)
	}
	// The rest has its own time: on a loaded machine the first minute may
	// be gone by now.
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, tty := range []bool{false, true} {
		var o, e bytes.Buffer
		code := Main(ctx, []string{"up", "-f", lab}, IO{In: strings.NewReader(""), Out: &o, Err: &e, Progress: tty})
		table := &o
		if tty {
			table = &e // the progress bar and the table go to stderr on a terminal
		}
		view, tab := strings.Index(o.String(), "(int-br-eth1): addr:"), strings.Index(table.String(), "STEP ")
		if code != ExitOK || view < 0 || tab < 0 || (!tty && tab < view) {
			t.Errorf("no-op up (terminal %v): exit %d, the view at %d, the table at %d:\n%s%s", tty, code, view, tab, o.String(), e.String())
		}
		if esc := strings.Contains(o.String(), "\x1b["); esc != tty {
			t.Errorf("no-op up (terminal %v): escape sequences on stdout: %v", tty, esc)
		}
	}

	// verify on its own: every promise holds (the model has no
	// ofproto/trace: not proved, not failed); then one broken behind
	// xenlab's back is named, with exit 1.
	code, out, stderr = run(t, "", false, "verify", "-f", lab)
	if code != ExitOK || !strings.Contains(out, "verify | dom0 ") || !strings.Contains(out, "the path is not proved: this switch has no ofproto/trace") {
		t.Fatalf("verify after up: exit %d:\n%s%s", code, out, stderr)
	}
	cfg, err := localrc.Load(lab)
	if err != nil {
		t.Fatal(err)
	}
	host := hosts.New(cfg.Hosts[0], hosts.Options{})
	defer host.Close(ctx)
	dom0, err := host.Dom0(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// dom0's xe finds the VM network up made, as an administrator (and
	// devstack's tools/xen) would (issue 17).
	xc, err := host.XAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vmNets, err := xc.NetworkGetByNameLabel(ctx, cfg.Networks.VM)
	if err != nil || len(vmNets) != 1 {
		t.Fatalf("the VM network %q: %v %v", cfg.Networks.VM, vmNets, err)
	}
	vmNetUUID, _ := xc.Call(ctx, "network.get_uuid", string(vmNets[0]))
	if res, err := dom0.Run(ctx, `xe network-list name-label="`+cfg.Networks.VM+`" --minimal`); err != nil || string(res.Stdout) != vmNetUUID.(string)+"\n" {
		t.Fatalf("xe network-list in dom0 after up: %q, %v; want %v", res.Stdout, err, vmNetUUID)
	}
	if _, err := dom0.Run(ctx, `p=$(ovs-vsctl --bare --columns=name find Port tag=4095) && ovs-vsctl set Port "$p" tag=7`); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, "", false, "verify", "-f", lab)
	if want := "dom0 switch, bridge xapi2: expected the placeholder VIF's port on VLAN 4095, found port vif"; code != ExitFailed || !strings.Contains(stderr, want) || !strings.Contains(stderr, "with tag 7") {
		t.Fatalf("verify with the placeholder on VLAN 7: exit %d, want 1 and %q:\n%s%s", code, want, out, stderr)
	}
	// reset goes back to the snapshot up took, says what it cost, and puts
	// the placeholder back on VLAN 4095: verify holds again.
	code, out, stderr = run(t, "", false, "reset", "-f", lab)
	if code != ExitOK || !strings.Contains(out, "xapi round trips") {
		t.Fatalf("reset: exit %d:\n%s%s", code, out, stderr)
	}
	if code, out, stderr = run(t, "", false, "verify", "-f", lab); code != ExitOK {
		t.Fatalf("verify after reset: exit %d:\n%s%s", code, out, stderr)
	}
	// The drifts, on this lab: each named by verify and repaired by up.
	t.Run("drifts", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: ten repairs of a lab")
		}
		dctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		d := &driftLab{t: t, ctx: dctx, sh: h, cfg: cfg, host: hosts.New(cfg.Hosts[0], hosts.Options{})}
		defer func() {
			d.host.Close(context.Background())
			h = d.sh
		}()
		driftsNamedAndRepaired(t, dctx, d, simOpts, lab)
	})
	if t.Failed() {
		return
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
	t.Chdir(t.TempDir()) // the failed up collects its logs into ./xenlab-logs
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

// placeholderIn returns the placeholder's port name in a status document
// (status --json) or in the status line of up --json.
func placeholderIn(t *testing.T, out string) string {
	t.Helper()
	type doc struct {
		Switch []struct {
			Ports []struct {
				Name        string
				Placeholder bool
			}
		}
	}
	for _, l := range strings.Split(out, "\n") {
		var line struct {
			Kind   string
			Status *doc
		}
		if json.Unmarshal([]byte(l), &line) == nil && line.Kind == "status" && line.Status != nil {
			out = l
			break
		}
	}
	var d doc
	var line struct{ Status *doc }
	if json.Unmarshal([]byte(out), &line) == nil && line.Status != nil {
		d = *line.Status
	} else if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("not a status document: %v", err)
	}
	for _, b := range d.Switch {
		for _, p := range b.Ports {
			if p.Placeholder {
				return p.Name
			}
		}
	}
	return ""
}
