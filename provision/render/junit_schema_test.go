package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/provision"
	"xenlab/provision/render/rendertest"
)

// TestJUnitValidatesAgainstSchema writes the report of every kind of run
// (success, a failed step, a cleanup phase, an interruption, a run that
// failed with no failed step) and validates each with xmllint against
// junit-10.xsd, the schema Jenkins' xunit plugin uses.
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	dir := t.TempDir()
	var files []string
	write := func(name string, rep *provision.Report) {
		p := filepath.Join(dir, name+".xml")
		if err := NewJUnit(p).Close(rep); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	ok, _ := run(t, provision.Nodes(&step{name: "a"}, &step{name: "b", deps: []string{"a"}}), provision.Multi())
	write("ok", ok)
	failed, _ := run(t, failingLab(), provision.Multi())
	write("failed", failed)
	e, err := provision.New(failingLab(), provision.Options{OnError: provision.Cleanup, Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	cleanup, _ := e.Apply(context.Background())
	write("cleanup", cleanup)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e, err = provision.New(failingLab(), provision.Options{Heartbeat: -1})
	if err != nil {
		t.Fatal(err)
	}
	interrupted, _ := e.Apply(ctx)
	write("interrupted", interrupted)
	viewLost, _ := run(t, provision.Nodes(&step{name: "a"}), provision.Multi())
	viewLost.Err = errors.New("reading the lab view: connection refused")
	write("run-failed", viewLost)

	rendertest.ValidateJUnit(t, files...)
}

// TestJUnitCountsARunFailure: a run that failed with no step failing
// (xenlab up when it cannot read the lab's closing view) must not report
// failures="0".
func TestJUnitCountsARunFailure(t *testing.T) {
	rep, _ := run(t, provision.Nodes(&step{name: "a"}), provision.Multi())
	rep.Err = errors.New("reading the lab view: connection refused")
	p := filepath.Join(t.TempDir(), "j.xml")
	if err := NewJUnit(p).Close(rep); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `<testsuites name="xenlab apply" tests="2" failures="1" errors="0"`) ||
		!strings.Contains(string(data), `<failure message="reading the lab view: connection refused"`) {
		t.Fatalf("report of a failed run:\n%s", data)
	}
}
