package localrc

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// Import converts a classic bash localrc (or xenrc) into a lab file. Settings
// with a field of their own are mapped to it, XENAPI_PASSWORD and
// GUEST_PASSWORD become env() calls (their literals are dropped), and every
// other setting goes to devstack.extra. warnings lists, one per line of
// input, what was dropped or could not be translated. The returned HCL always
// passes Parse (given the environment variables it names); err is only for
// input that is not a text file or a bug that produced an invalid lab file.
func Import(filename string, src []byte) (hclOut []byte, warnings []string, err error) {
	if !utf8.Valid(src) {
		return nil, nil, fmt.Errorf("import %s: not UTF-8 text", filename)
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, nil, fmt.Errorf("import %s: contains NUL bytes; not a localrc", filename)
	}
	name := filepath.Base(filename)
	in := newInterp(name)
	text, sectionWarns := localConfSections(string(src))
	lx := &lexer{src: text, line: 1}
	in.run(lx.commands())
	in.warns = append(append(in.warns, lx.warns...), sectionWarns...)

	m := &mapper{in: in, out: newLabOut(), warns: in.warns}
	m.mapAll()
	out := m.out.render(name)

	// The promise: what Import writes, Parse accepts. Check it with every
	// environment variable set, as the user will have them.
	env := evalEnv{
		dir:       fileDir(filename),
		lookupEnv: func(string) (string, bool) { return "set", true },
		readFile:  func(string) ([]byte, error) { return nil, errors.New("import emits no file() calls") },
	}
	if _, perr := parse("imported.hcl", out, env); perr != nil {
		return out, renderWarnings(name, m.warns), fmt.Errorf("import %s: the generated lab file does not validate (a bug in xenlab): %w", filename, perr)
	}
	return out, renderWarnings(name, m.warns), nil
}

// mapper turns the localrc's variables into lab-file attributes.
type mapper struct {
	in    *interp
	out   *labOut
	warns []warning
}

func (m *mapper) warnf(v *shellVar, format string, args ...any) {
	m.warns = append(m.warns, warning{v.line, v.name + ": " + fmt.Sprintf(format, args...)})
}

// literal returns a variable's value when it is a plain string that does
// not depend on variables the file does not set.
func (m *mapper) literal(v *shellVar) (string, bool) {
	if v.isArray {
		m.warnf(v, "an array where a single value is expected; not translated, default kept")
		return "", false
	}
	s, ok := v.value.literal()
	if !ok {
		m.warnf(v, "depends on $%s, which this file does not set; not translated, default kept", strings.Join(v.value.refs(), ", $"))
		return "", false
	}
	return s, true
}

func (m *mapper) mapAll() {
	vars := m.in.vars
	handled := map[string]bool{}
	get := func(name string) *shellVar {
		handled[name] = true
		return vars[name]
	}
	// Host.
	if v := get("XENAPI_CONNECTION_URL"); v != nil {
		if s, ok := m.literal(v); ok {
			if _, err := parseXAPIURL(s); err != nil {
				m.warnf(v, "not usable as xapi_url (%v); devstack's old default used instead", err)
			} else {
				m.out.set("host.xapi_url", cty.StringVal(s))
			}
		}
	}
	if _, ok := m.out.attrs["host.xapi_url"]; !ok {
		m.warns = append(m.warns, warning{0, "XENAPI_CONNECTION_URL not set; xapi_url is devstack's old default http://169.254.0.1 (dom0 as domU sees it): point it at your XenServer host"})
		m.out.set("host.xapi_url", cty.StringVal("http://169.254.0.1"))
	}
	if v := get("XENAPI_USER"); v != nil {
		if s, ok := m.literal(v); ok && s != "" {
			m.out.set("host.xapi_user", cty.StringVal(s))
		}
	}
	m.out.setCall("host.xapi_password", "env", "XENAPI_PASSWORD")
	if v := get("XENAPI_PASSWORD"); v != nil {
		m.warnf(v, "literal password dropped; the lab file reads it with env(\"XENAPI_PASSWORD\"): export it before running xenlab")
	}
	// A guest password the file sets, even one it computes, is read from the
	// environment rather than silently becoming devstack's default.
	if v := get("GUEST_PASSWORD"); v != nil || m.in.skipped["GUEST_PASSWORD"] {
		m.out.setCall("domu.password", "env", "GUEST_PASSWORD")
		if v != nil {
			m.warnf(v, "literal password dropped; the lab file reads it with env(\"GUEST_PASSWORD\"): export it before running xenlab")
		}
	}

	m.plainStrings(get, map[string]string{
		"GUEST_NAME":                 "domu.name",
		"STACK_USER":                 "domu.ssh_user",
		"VM_BRIDGE_OR_NET_NAME":      "networks.vm",
		"PUB_BRIDGE_OR_NET_NAME":     "networks.public",
		"XEN_INT_BRIDGE_OR_NET_NAME": "networks.integration",
		"MGT_BRIDGE_OR_NET_NAME":     "networks.management",
		"DEVSTACK_REPO":              "devstack.repo",
		"DEVSTACK_BRANCH":            "devstack.branch",
	})
	m.distinctNetworks()
	m.sizes(get)
	if v := get("CLEAN_TEMPLATES"); v != nil {
		if s, ok := m.literal(v); ok {
			if b, ok := parseShellBool(s); ok {
				m.out.set("domu.rebuild_template", cty.BoolVal(b))
			} else {
				m.warnf(v, "%q is not true or false; not translated", s)
			}
		}
	}
	m.ips(get)
	m.devices(get)
	m.ubuntu(get)
	m.quantum(get)
	m.services(get)

	for _, name := range m.in.order {
		v := vars[name]
		if handled[name] || mappedSettings[name] != "" {
			continue
		}
		if why, drop := droppedSettings[name]; drop {
			m.warnf(v, "dropped: %s", why)
			continue
		}
		m.extra(v)
	}
}
