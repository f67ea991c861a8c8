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

// annotate makes hcl's and gohcl's value errors name the field they are
// about ("Invalid host.ssh_port" instead of "Unsuitable value type"), and
// drops the "value must be known" echo gohcl adds after a failed function
// call at the same place.
func annotate(diags hcl.Diagnostics, f *hcl.File) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		if d.Subject == nil || f == nil || d.Subject.Filename != fileName(f) {
			out = append(out, d)
			continue
		}
		if strings.Contains(d.Detail, "must be known") && sameAttrHasError(f, diags, d) {
			continue
		}
		switch d.Summary {
		case "Unsuitable value type", "Incorrect attribute value type", "Error in function call", "Invalid function argument":
			if path := fieldPath(f, d.Subject.Start); path != "" {
				c := *d
				c.Summary = "Invalid " + path
				d = &c
			}
		}
		out = append(out, d)
	}
	return out
}

// sameAttrHasError reports whether another error is about the same
// attribute as d (a failed call inside the expression d complains about).
func sameAttrHasError(f *hcl.File, diags hcl.Diagnostics, d *hcl.Diagnostic) bool {
	attr := f.AttributeAtPos(d.Subject.Start)
	if attr == nil {
		return false
	}
	for _, o := range diags {
		if o != d && o.Severity == hcl.DiagError && o.Subject != nil && o.Subject.Filename == d.Subject.Filename &&
			!strings.Contains(o.Detail, "must be known") && sameAttr(f.AttributeAtPos(o.Subject.Start), attr) {
			return true
		}
	}
	return false
}

// fileName returns the name a file's ranges carry.
func fileName(f *hcl.File) string {
	if b, ok := f.Body.(interface{ Range() hcl.Range }); ok {
		return b.Range().Filename
	}
	return f.Body.MissingItemRange().Filename
}

// fieldPath names the attribute at pos as "block.sub.attr" (agent blocks
// keep their label: "quantum.agent.q-domua.physical_bridge").
func fieldPath(f *hcl.File, pos hcl.Pos) string {
	attr := f.AttributeAtPos(pos)
	if attr == nil {
		return ""
	}
	var parts []string
	for _, b := range f.BlocksAtPos(pos) {
		parts = append(parts, b.Type)
		if b.Type == "agent" && len(b.Labels) == 1 {
			parts = append(parts, b.Labels[0])
		}
	}
	return strings.Join(append(parts, attr.Name), ".")
}

func sameAttr(a, b *hcl.Attribute) bool {
	return a != nil && b != nil && a.Range == b.Range
}
