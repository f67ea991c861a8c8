// Package templates holds the text files xenlab renders and puts on a lab's
// hosts, embedded in the binary: the Debian installer preseed of the domU
// template (preseed.cfg.tmpl), and what the agents step puts in domU:
// devstack's localrc, the two Open vSwitch agents' ini files, rootwrap.conf
// and xenlab's wrapper of stack.sh. Each file is a text/template rendered from a small
// typed struct; values are checked so that none can add a line of its own.
// docs/templates.md says what each file is for.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// parsed holds every embedded template by file name; missingkey=error
// makes a field the data lacks an error, not "<no value>".
var parsed = template.Must(template.New("").Option("missingkey=error").
	Funcs(template.FuncMap{"sh": ShellQuote, "lateCommand": LateCommand}).ParseFS(files, "*.tmpl"))

// render executes one embedded template.
func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := parsed.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("templates: rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// oneLine refuses a value that would end its line early or carry control
// characters (a newline in a mirror name would add a preseed question).
func oneLine(file, field, v string) error {
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("templates: %s: %s %q has a control character or line break", file, field, v)
	}
	return nil
}
