package localrc

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// DiagError is returned by Load and Parse when the lab file has errors. Diags
// are sorted by position; Files holds the parsed sources so a terminal
// rendering can show snippets.
type DiagError struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

// Error renders one line per diagnostic:
// "file:line:col: severity: summary; detail".
func (e *DiagError) Error() string {
	lines := make([]string, 0, len(e.Diags))
	for _, d := range e.Diags {
		lines = append(lines, diagLine(d))
	}
	return strings.Join(lines, "\n")
}

// Write renders the diagnostics for a terminal with source snippets
// (hcl.NewDiagnosticTextWriter); width 0 means no wrapping.
func (e *DiagError) Write(w io.Writer, color bool, width uint) error {
	return hcl.NewDiagnosticTextWriter(w, e.Files, width, color).WriteDiagnostics(e.Diags)
}

func diagLine(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	var b strings.Builder
	if d.Subject != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	b.WriteString(sev + ": " + oneLine(d.Summary))
	if d.Detail != "" {
		b.WriteString("; " + oneLine(d.Detail))
	}
	return b.String()
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sortDiags orders diagnostics by file and position (gohcl's order follows
// map iteration); diagnostics without a subject go last, ties keep order.
func sortDiags(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		case a.Start.Column != b.Start.Column:
			return a.Start.Column < b.Start.Column
		default:
			return a.End.Byte < b.End.Byte
		}
	})
}
