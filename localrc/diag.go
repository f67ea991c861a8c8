package localrc

import (
	"fmt"
	"io"
	"sort"
	"strconv"
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
// (hcl.NewDiagnosticTextWriter); width 0 means no wrapping. The snippets
// never show a secret: the values of xapi_password, ssh_password, domu's
// password and sensitive devstack.extra settings are shown as
// "<redacted>" (see secretEdits).
func (e *DiagError) Write(w io.Writer, color bool, width uint) error {
	diags, files := maskDiags(e.Diags, e.Files)
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
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

// hideFileContents keeps diagnostics from quoting what file() read (a
// password, a key, or /etc/shadow given by mistake): in every summary and
// detail, a quoted string that is a recorded content, or a piece of one of
// three bytes or more, and a bare occurrence of a content of eight bytes or
// more, become "(the contents of "path")" or "(part of the contents of
// "path")", so the message still says which file and what was wrong.
func hideFileContents(diags hcl.Diagnostics, reads *fileReads) hcl.Diagnostics {
	vals := reads.values()
	if len(vals) == 0 {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Summary = hideIn(d.Summary, vals)
		c.Detail = hideIn(d.Detail, vals)
		out[i] = &c
	}
	return out
}

// hideIn rewrites one message for hideFileContents.
func hideIn(msg string, vals map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] == '"' {
			if n, u, ok := quotedAt(msg[i:]); ok {
				if p, whole, found := readFrom(u, vals); found {
					b.WriteString(placeholder(p, whole))
					i += n
					continue
				}
				b.WriteString(msg[i : i+n])
				i += n
				continue
			}
		}
		if p, n := bareAt(msg[i:], vals); n > 0 {
			b.WriteString(placeholder(p, true))
			i += n
			continue
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}

// quotedAt reads a Go-quoted string at the start of s: its length and
// value.
func quotedAt(s string) (int, string, bool) {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			u, err := strconv.Unquote(s[:j+1])
			return j + 1, u, err == nil
		}
	}
	return 0, "", false
}

// readFrom reports whether u is a recorded content (whole) or a piece of
// one, and from which path.
func readFrom(u string, vals map[string]string) (path string, whole, found bool) {
	if u == "" {
		return "", false, false
	}
	if p, ok := vals[u]; ok {
		return p, true, true
	}
	if len(u) < 3 {
		return "", false, false
	}
	for v, p := range sortedKeys(vals) {
		if strings.Contains(v, u) {
			return p, false, true
		}
	}
	return "", false, false
}

// bareAt returns the length of a recorded content of 8 bytes or more at
// the start of s (the longest), and its path.
func bareAt(s string, vals map[string]string) (string, int) {
	best, path := 0, ""
	for v, p := range sortedKeys(vals) {
		if len(v) >= 8 && len(v) > best && strings.HasPrefix(s, v) {
			best, path = len(v), p
		}
	}
	return path, best
}

// sortedKeys iterates a map in key order, so the output is stable.
func sortedKeys(m map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func placeholder(path string, whole bool) string {
	if whole {
		return "(the contents of " + strconv.Quote(path) + ")"
	}
	return "(part of the contents of " + strconv.Quote(path) + ")"
}
