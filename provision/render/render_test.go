package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"xenlab/provision"
)

// step is a minimal provision.Step for driving the engine.
type step struct {
	name  string
	deps  []string
	done  bool
	apply func(ctx context.Context, out provision.Output) error
}

func (s *step) Name() string                                    { return s.name }
func (s *step) Deps() []string                                  { return s.deps }
func (s *step) Check(context.Context) (bool, error)             { return s.done, nil }
func (s *step) Destroy(context.Context, provision.Output) error { return nil }
func (s *step) Apply(ctx context.Context, out provision.Output) error {
	if s.apply != nil {
		if err := s.apply(ctx, out); err != nil {
			return err
		}
	}
	s.done = true
	return nil
}

// failingLab: net writes output and fails; vm depends on it and is
// skipped; pre is already done; ovs runs.
func failingLab() []provision.Node {
	return provision.Nodes(
		&step{name: "pre", done: true},
		&step{name: "net", deps: []string{"pre"}, apply: func(_ context.Context, out provision.Output) error {
			out.Line("xe network-create name-label=%q", "OpenStack VM Network")
			out.Line("The server failed to handle your request")
			return errors.New("xe network-create: exit status 1")
		}},
		&step{name: "vm", deps: []string{"net"}},
		&step{name: "ovs", apply: func(_ context.Context, out provision.Output) error {
			out.Line("ovs-vsctl add-br xapi1")
			return nil
		}})
}

func run(t *testing.T, steps []provision.Node, r provision.Renderer) (*provision.Report, error) {
	t.Helper()
	e, err := provision.New(steps, provision.Options{Renderer: r, Parallel: 1, Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Apply(context.Background())
	if cerr := r.Close(rep); cerr != nil {
		t.Fatalf("Close: %v", cerr)
	}
	return rep, err
}

// lockedBuffer is a bytes.Buffer safe to read while a renderer writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestInteractive(t *testing.T) {
	tests := []struct {
		name           string
		stdout, stderr bool
		env            map[string]string
		want           bool
	}{
		{"both terminals", true, true, map[string]string{"TERM": "xterm-256color"}, true},
		{"stdout piped", false, true, nil, false},
		{"stderr piped", true, false, nil, false},
		{"NO_COLOR set", true, true, map[string]string{"NO_COLOR": ""}, false},
		{"dumb terminal", true, true, map[string]string{"TERM": "dumb"}, false},
		{"CI", true, true, map[string]string{"CI": "true"}, false},
		{"CI=false", true, true, map[string]string{"CI": "false"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			if got := interactive(tt.stdout, tt.stderr, lookup); got != tt.want {
				t.Errorf("interactive = %v, want %v", got, tt.want)
			}
		})
	}
	// A test's stdout is never a terminal here: files and pipes are not.
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Interactive(f, f) {
		t.Error("a regular file was taken for a terminal")
	}
	if _, ok := Select(f, f).(*Plain); !ok {
		t.Error("Select chose the terminal view for a file")
	}
}

func TestPlainLines(t *testing.T) {
	at := time.Date(2026, 11, 24, 20, 31, 2, 0, time.UTC)
	events := []provision.Event{
		{Time: at, Phase: provision.PhaseApply, Step: "networks", Kind: provision.EventStarted, Attempt: 1},
		{Time: at, Phase: provision.PhaseApply, Step: "networks", Kind: provision.EventOutput, Line: "created OpenStack VM Network"},
		{Time: at.Add(30 * time.Second), Phase: provision.PhaseApply, Step: "networks", Kind: provision.EventHeartbeat, Duration: 30 * time.Second},
		{Time: at.Add(31 * time.Second), Phase: provision.PhaseApply, Step: "networks", Kind: provision.EventRetry, Attempt: 2, Duration: time.Second, Err: "connection reset"},
		{Time: at.Add(32 * time.Second), Phase: provision.PhaseApply, Step: "networks", Kind: provision.EventDone, Duration: 1234 * time.Millisecond, Attempt: 2},
		{Time: at, Phase: provision.PhaseApply, Step: "domu", Kind: provision.EventFailed, Duration: 2 * time.Second, Err: "boom"},
		{Time: at, Phase: provision.PhaseApply, Step: "boot", Kind: provision.EventSkipped, Line: "dependency domu failed"},
		{Time: at, Phase: provision.PhaseApply, Step: "plugins", Kind: provision.EventUpToDate},
		{Time: at, Phase: provision.PhaseCleanup, Step: "domu", Kind: provision.EventDone, Duration: 100 * time.Millisecond, Attempt: 1},
	}
	var b bytes.Buffer
	p := NewPlain(&b)
	for _, ev := range events {
		p.Event(ev)
	}
	want := `2026-11-24T20:31:02Z networks started
2026-11-24T20:31:02Z networks | created OpenStack VM Network
2026-11-24T20:31:32Z networks still running 30s
2026-11-24T20:31:33Z networks retrying (attempt 2) in 1s: connection reset
2026-11-24T20:31:34Z networks done 1.2s (attempt 2)
2026-11-24T20:31:02Z domu failed after 2s: boom
2026-11-24T20:31:02Z boot skipped: dependency domu failed
2026-11-24T20:31:02Z plugins already done
2026-11-24T20:31:02Z domu (cleanup) done 100ms
`
	if b.String() != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", b.String(), want)
	}
}

// The engine emits heartbeats at a short interval; the step waits (bounded)
// until the plain view has printed one, so nothing depends on timing.
func TestPlainHeartbeatFromEngine(t *testing.T) {
	var out lockedBuffer
	beat := make(chan struct{})
	var once sync.Once
	tap := tapRenderer(func(ev provision.Event) {
		if ev.Kind == provision.EventHeartbeat {
			once.Do(func() { close(beat) })
		}
	})
	quiet := &step{name: "stack", apply: func(ctx context.Context, _ provision.Output) error {
		select {
		case <-beat:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("no heartbeat")
		}
	}}
	// Plain first: when the tap sees the heartbeat, Plain has written it.
	r := provision.Multi(NewPlain(&out), tap)
	e, err := provision.New(provision.Nodes(quiet), provision.Options{Renderer: r, Heartbeat: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Apply(context.Background())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := r.Close(rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " stack still running ") {
		t.Errorf("no heartbeat line in:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "STEP") || !strings.Contains(out.String(), "total (apply)") {
		t.Errorf("no timing table in:\n%s", out.String())
	}
}

type tapRenderer func(provision.Event)

func (f tapRenderer) Event(ev provision.Event)    { f(ev) }
func (tapRenderer) Close(*provision.Report) error { return nil }

func TestJSONLinesParseBack(t *testing.T) {
	var b bytes.Buffer
	rep, err := run(t, failingLab(), NewJSON(&b))
	if provision.ExitCode(err) != 1 {
		t.Fatalf("err = %v, want a step failure", err)
	}
	sc := bufio.NewScanner(&b)
	var events []JSONEvent
	var sum map[string]any
	for sc.Scan() {
		if sum != nil {
			t.Fatalf("line after the summary: %s", sc.Text())
		}
		var probe struct{ Kind string }
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		if probe.Kind == "summary" {
			if err := json.Unmarshal(sc.Bytes(), &sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var ev JSONEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if sum == nil {
		t.Fatal("no summary line")
	}
	seen := map[string]bool{}
	for _, ev := range events {
		seen[ev.Step+" "+ev.Kind] = true
		if ev.Time.IsZero() || ev.Phase != "apply" {
			t.Errorf("event without time or phase: %+v", ev)
		}
	}
	for _, w := range []string{"pre uptodate", "net started", "net output", "net failed", "vm skipped", "ovs done"} {
		if !seen[w] {
			t.Errorf("no %q event in %v", w, seen)
		}
	}
	if sum["outcome"] != "failed" || sum["exit_code"] != float64(1) || !strings.Contains(sum["error"].(string), "exit status 1") {
		t.Errorf("summary = %v", sum)
	}
	steps := sum["steps"].([]any)
	if len(steps) != len(rep.Steps) {
		t.Fatalf("summary steps = %v", steps)
	}
	for _, s := range steps {
		m := s.(map[string]any)
		if m["name"] == "net" {
			tail := m["output_tail"].([]any)
			if m["state"] != "failed" || len(tail) != 2 || tail[1] != "The server failed to handle your request" {
				t.Errorf("net in summary = %v", m)
			}
		}
	}
	counts := sum["counts"].(map[string]any)
	if counts["failed"] != float64(1) || counts["skipped"] != float64(1) || counts["done"] != float64(1) || counts["already-done"] != float64(1) {
		t.Errorf("counts = %v", counts)
	}
}

// junitDoc is parsed independently of the writer's own types.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name    string `xml:"name,attr"`
		Skipped int    `xml:"skipped,attr"`
		Cases   []struct {
			Name    string `xml:"name,attr"`
			Time    string `xml:"time,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitParseBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	if _, err := run(t, failingLab(), NewJUnit(path)); err == nil {
		t.Fatal("Apply succeeded, want net to fail")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse: %v\n%s", err, data)
	}
	if doc.Tests != 4 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Skipped != 1 {
		t.Fatalf("totals tests=%d failures=%d suites=%+v\n%s", doc.Tests, doc.Failures, doc.Suites, data)
	}
	cases := map[string]int{}
	for i, c := range doc.Suites[0].Cases {
		cases[c.Name] = i
		if c.Time == "" {
			t.Errorf("%s has no time", c.Name)
		}
	}
	net := doc.Suites[0].Cases[cases["net"]]
	if net.Failure == nil || !strings.Contains(net.Failure.Message, "exit status 1") ||
		!strings.Contains(net.Failure.Text, "The server failed to handle your request") {
		t.Errorf("net failure = %+v", net.Failure)
	}
	vm := doc.Suites[0].Cases[cases["vm"]]
	if vm.Skipped == nil || !strings.Contains(vm.Skipped.Message, "net failed") {
		t.Errorf("vm skipped = %+v", vm.Skipped)
	}
	if ovs := doc.Suites[0].Cases[cases["ovs"]]; ovs.Failure != nil || ovs.Skipped != nil {
		t.Errorf("ovs should pass: %+v", ovs)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestJUnitCleanupSuite(t *testing.T) {
	steps := failingLab()
	e, err := provision.New(steps, provision.Options{OnError: provision.Cleanup, Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := e.Apply(context.Background())
	var b bytes.Buffer
	if err := WriteJUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 || doc.Suites[1].Name != "xenlab.cleanup" || len(doc.Suites[1].Cases) != 2 {
		t.Errorf("suites = %+v", doc.Suites)
	}
}

func TestTTYRun(t *testing.T) {
	var out lockedBuffer
	tty := NewTTY(&out)
	tty.refresh = time.Millisecond
	_, err := run(t, failingLab(), tty)
	if err == nil {
		t.Fatal("want a failure")
	}
	s := out.String()
	for _, w := range []string{
		"✓ pre already done",
		"    net | The server failed to handle your request",
		"✗ net failed after",
		"- vm skipped: dependency net failed",
		"✓ ovs done",
		"4/4",
		"total (apply)",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("terminal output lacks %q:\n%s", w, s)
		}
	}
}

func TestTableRenderer(t *testing.T) {
	var b bytes.Buffer
	rep, _ := run(t, failingLab(), Table{W: &b})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(rep.Steps)+2 || !strings.HasPrefix(lines[0], "STEP") {
		t.Errorf("table:\n%s", b.String())
	}
}
