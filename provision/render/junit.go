package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"xenlab/internal/atomicfile"
	"xenlab/provision"
)

// JUnit writes, on Close, a JUnit XML report to a file (--junit FILE): a
// testsuite per phase (apply or destroy, plus cleanup if it ran) with a
// testcase per step and its time; for a fleet, a testsuite per host and
// phase (xenlab.apply.xs1, ...), see fleetSuites. Failed steps carry <failure> with the error
// as message and the output tail as text, interrupted ones <error>, skipped
// ones <skipped>; steps already done pass with a note in <system-out>.
type JUnit struct{ path string }

// NewJUnit returns a renderer that writes the report to path. The file is
// replaced atomically, so a reader never sees half a report.
func NewJUnit(path string) *JUnit { return &JUnit{path: path} }

// Event implements provision.Renderer; the report is built from the
// provision.Report at Close.
func (*JUnit) Event(provision.Event) {}

// Close writes the file.
func (j *JUnit) Close(rep *provision.Report) error {
	if rep == nil {
		return nil
	}
	if err := atomicfile.Write(j.path, 0o600, func(w io.Writer) error { return WriteJUnit(w, rep) }); err != nil {
		return fmt.Errorf("junit report %s: %w", j.path, err)
	}
	return nil
}

// JUnitSuites is the document root, exported so tests and tools can parse
// the file back with encoding/xml. It follows the junit-10.xsd schema that
// Jenkins' xunit plugin validates with: <testsuites> has no skipped
// attribute there (each <testsuite> has one).
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one phase of the run.
type JUnitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []JUnitCase `xml:"testcase"`
}

// JUnitCase is one step.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure"`
	Error     *JUnitProblem `xml:"error"`
	Skipped   *JUnitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a <failure>, <error> or <skipped> element.
type JUnitProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// RunCase is the name of the testcase a report gets when its run failed
// (or was interrupted) with no step failing (or interrupted): for example
// `xenlab up` exiting 1 because it could not read the lab's closing view. So
// the report's failures and errors never say success for a run that
// exits non-zero.
const RunCase = "run"

// WriteJUnit writes rep as JUnit XML to w.
func WriteJUnit(w io.Writer, rep *provision.Report) error {
	doc := JUnitSuites{Name: "xenlab " + string(rep.Phase), Time: seconds(rep.Duration)}
	if len(rep.Hosts) > 0 {
		doc.Suites = fleetSuites(rep)
	} else {
		main := junitSuite(string(rep.Phase), rep.Start, rep.Steps)
		addRunCase(&main, rep)
		doc.Suites = append(doc.Suites, main)
		if len(rep.Cleanup) > 0 {
			doc.Suites = append(doc.Suites, junitSuite(string(provision.PhaseCleanup), time.Time{}, rep.Cleanup))
		}
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// fleetSuites are a fleet's suites: for each host, in the lab's order, a
// suite "xenlab.<phase>.<host>" with a testcase per step named without
// its host, then that host's cleanup suite if it had one. A run error no
// step tells of gets its RunCase in a suite of its own, "xenlab.<phase>".
func fleetSuites(rep *provision.Report) []JUnitSuite {
	var suites []JUnitSuite
	for _, h := range rep.Hosts {
		sub := rep.ForHost(h.Name)
		suites = append(suites, hostSuite(string(rep.Phase), h.Name, sub.Start, sub.Steps))
		if len(sub.Cleanup) > 0 {
			suites = append(suites, hostSuite(string(provision.PhaseCleanup), h.Name, time.Time{}, sub.Cleanup))
		}
	}
	run := JUnitSuite{Name: "xenlab." + string(rep.Phase), Time: seconds(0)}
	if addRunCase(&run, rep); run.Tests > 0 {
		suites = append(suites, run)
	}
	return suites
}

// hostSuite is junitSuite for one host of a fleet: its cases are named by
// the steps' names, which do not carry the host.
func hostSuite(phase, host string, start time.Time, results []provision.StepResult) JUnitSuite {
	return junitSuite(phase+"."+host, start, results)
}

func junitSuite(phase string, start time.Time, results []provision.StepResult) JUnitSuite {
	s := JUnitSuite{Name: "xenlab." + phase, Tests: len(results)}
	if !start.IsZero() {
		s.Timestamp = start.UTC().Format(time.RFC3339)
	}
	var total time.Duration
	for _, r := range results {
		total += r.Duration
		c := JUnitCase{Name: r.Name, Classname: "xenlab." + phase, Time: seconds(r.Duration)}
		switch r.State {
		case provision.StateFailed:
			s.Failures++
			c.Failure = &JUnitProblem{Message: errString(r.Err), Type: "StepFailed", Text: tail(r)}
		case provision.StateCanceled:
			s.Errors++
			c.Error = &JUnitProblem{Message: "interrupted: " + errString(r.Err), Type: "Interrupted", Text: tail(r)}
		case provision.StateSkipped:
			s.Skipped++
			c.Skipped = &JUnitProblem{Message: r.Reason}
		case provision.StateAlreadyDone:
			c.SystemOut = "already done; nothing to apply"
		default:
			c.SystemOut = strings.Join(r.Output, "\n")
		}
		s.Cases = append(s.Cases, c)
	}
	s.Time = seconds(total)
	return s
}

// addRunCase adds the RunCase testcase to the phase's suite when the run's
// error is not already told by a failed or canceled step: a <failure>, or
// an <error> for an interruption.
func addRunCase(s *JUnitSuite, rep *provision.Report) {
	if rep.Err == nil || rep.Count(provision.StateFailed)+rep.Count(provision.StateCanceled) > 0 {
		return
	}
	c := JUnitCase{Name: RunCase, Classname: s.Name, Time: seconds(rep.Duration)}
	if rep.Outcome() == "interrupted" {
		s.Errors++
		c.Error = &JUnitProblem{Message: rep.Err.Error(), Type: "Interrupted"}
	} else {
		s.Failures++
		c.Failure = &JUnitProblem{Message: rep.Err.Error(), Type: "RunFailed"}
	}
	s.Tests++
	s.Cases = append(s.Cases, c)
}

func tail(r provision.StepResult) string {
	if len(r.Output) == 0 {
		return ""
	}
	return fmt.Sprintf("last %d output lines:\n%s", len(r.Output), strings.Join(r.Output, "\n"))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
