package render

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/provision"
	"xenlab/provision/render/rendertest"
)

// fleetLab is three hosts of pre -> net -> vm; xs2's net fails.
func fleetLab() []provision.Node {
	var steps []provision.Node
	for _, h := range []string{"xs1", "xs2", "xs3"} {
		net := &step{name: "net", deps: []string{"pre"}}
		if h == "xs2" {
			net.apply = func(_ context.Context, out provision.Output) error {
				out.Line("xe network-create: The server failed to handle your request")
				return errors.New("xe network-create: exit status 1")
			}
		}
		steps = append(steps,
			provision.Node{Step: &step{name: "pre"}, Host: h},
			provision.Node{Step: net, Host: h},
			provision.Node{Step: &step{name: "vm", deps: []string{"net"}}, Host: h})
	}
	return steps
}

// TestJUnitFleet: a fleet's report has a testsuite per host, its cases
// named without the host, and validates against junit-10.xsd; the failed
// host's suite has the failure, the others none.
func TestJUnitFleet(t *testing.T) {
	rep, err := run(t, fleetLab(), provision.Multi())
	if err == nil {
		t.Fatal("want xs2 to fail")
	}
	p := filepath.Join(t.TempDir(), "fleet.xml")
	if err := NewJUnit(p).Close(rep); err != nil {
		t.Fatal(err)
	}
	rendertest.ValidateJUnit(t, p)
	var b bytes.Buffer
	if err := WriteJUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range doc.Suites {
		var cases []string
		for _, c := range s.Cases {
			cases = append(cases, c.Name)
		}
		got = append(got, s.Name+" "+strings.Join(cases, ",")+" "+strconv.Itoa(s.Failures)+"/"+strconv.Itoa(s.Skipped))
	}
	want := []string{
		"xenlab.apply.xs1 pre,net,vm 0/0",
		"xenlab.apply.xs2 pre,net,vm 1/1",
		"xenlab.apply.xs3 pre,net,vm 0/0",
	}
	if !slices.Equal(got, want) || doc.Tests != 9 || doc.Failures != 1 {
		t.Fatalf("suites %q (tests %d, failures %d), want %q", got, doc.Tests, doc.Failures, want)
	}
	if f := doc.Suites[1].Cases[1].Failure; f == nil || !strings.Contains(f.Message, "exit status 1") {
		t.Errorf("xs2's net case: %+v", doc.Suites[1].Cases[1])
	}

	// A fleet run that failed with no step failing says so in a suite
	// of its own, and still validates.
	ok, _ := run(t, []provision.Node{{Step: &step{name: "s"}, Host: "a"}, {Step: &step{name: "s"}, Host: "b"}}, provision.Multi())
	ok.Err = errors.New("reading the lab view: connection refused")
	p2 := filepath.Join(t.TempDir(), "fleet-run.xml")
	if err := NewJUnit(p2).Close(ok); err != nil {
		t.Fatal(err)
	}
	rendertest.ValidateJUnit(t, p2)
}

// TestJSONFleet: the summary has an object per host with its outcome,
// error and steps, and names the hosts that failed; events carry the host.
func TestJSONFleet(t *testing.T) {
	var b bytes.Buffer
	run(t, fleetLab(), NewJSON(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for _, l := range lines[:len(lines)-1] {
		var ev JSONEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Host == "" || strings.Contains(ev.Step, "/") {
			t.Fatalf("event %s: %v", l, err)
		}
	}
	var sum JSONSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Outcome != "failed" || sum.ExitCode != 1 || !slices.Equal(sum.FailedHosts, []string{"xs2"}) || len(sum.Hosts) != 3 {
		t.Fatalf("summary %+v", sum)
	}
	for _, h := range sum.Hosts {
		wantOutcome := "ok"
		if h.Name == "xs2" {
			wantOutcome = "failed"
		}
		if h.Outcome != wantOutcome || len(h.Steps) != 3 || (h.Error != "") != (h.Name == "xs2") {
			t.Errorf("host %+v", h)
		}
	}
	if !strings.HasPrefix(sum.Error, "1 of 3 hosts failed (xs2): ") {
		t.Errorf("summary error %q", sum.Error)
	}
}

// TestTTYFleetLanes: a fleet's terminal view has a lane per host that ends
// with the host's count and how it ended.
func TestTTYFleetLanes(t *testing.T) {
	var out lockedBuffer
	tty := NewTTY(&out)
	tty.refresh = time.Millisecond
	run(t, fleetLab(), tty)
	s := out.String()
	// The block's last drawing, after the last cursor move.
	last := s[strings.LastIndex(s, "\x1b[J")+len("\x1b[J"):]
	for _, w := range []string{
		"xs1  [====================]  3/3  ok\n",
		"xs2  [====================]  3/3  failed (net)\n",
		"xs3  [====================]  3/3  ok\n",
		"✗ xs2/net failed after",
		"- xs2/vm skipped: dependency xs2/net failed",
		"host xs2       failed",
	} {
		if !strings.Contains(last, w) && !strings.Contains(s, w) {
			t.Errorf("terminal output lacks %q:\n%s", w, s)
		}
	}
	for _, h := range []string{"xs1", "xs2", "xs3"} {
		if !strings.Contains(last, h+"  [====================]  3/3") {
			t.Errorf("last lanes lack %s's full lane:\n%s", h, last)
		}
	}
}

// TestLaneStatusClipped: a lane running many steps stays one line.
func TestLaneStatusClipped(t *testing.T) {
	var b bytes.Buffer
	v := newLanes(&b, provision.PhaseApply, []provision.Lane{{Host: "xs1", Steps: make([]string, 12)}})
	for _, s := range []string{"dom0-plugins", "networks", "template", "bridge-placeholder", "agents", "verify"} {
		v.event(provision.Event{Step: s, Host: "xs1", Kind: provision.EventStarted})
	}
	last := b.String()[strings.LastIndex(b.String(), "\x1b[J")+len("\x1b[J"):]
	lines := strings.Split(strings.TrimSuffix(last, "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "…") || len([]rune(lines[1])) > 100 {
		t.Fatalf("lanes %q", lines)
	}
}
