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
// with a field of their own are mapped to it, and every other setting goes to
// devstack.extra. Credentials never reach the output: XENAPI_PASSWORD,
// GUEST_PASSWORD and every other setting whose name looks like a credential
// (secretRE) become env("NAME") calls, their literals dropped, and a value
// that uses one keeps the reference (${MYSQL_PASSWORD}) for domU's localrc
// to expand. warnings lists, by line of input, what was dropped or could not
// be translated (never quoting a credential), and ends with one naming the
// variables to export. The returned HCL always passes Parse (given those
// variables); err is only for input that is not a text file or a bug that
// produced an invalid lab file.
func Import(filename string, src []byte) (hclOut []byte, warnings []string, err error) {
	if len(src) > MaxLocalrcSize {
		return nil, nil, fmt.Errorf("import %s: %d bytes, more than %s, the most xenlab reads (a localrc is kilobytes)", filename, len(src), sizeText(MaxLocalrcSize))
	}
	if !utf8.Valid(src) {
		return nil, nil, fmt.Errorf("import %s: not UTF-8 text", filename)
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, nil, fmt.Errorf("import %s: contains NUL bytes; not a localrc", filename)
	}
	name := filepath.Base(filename)
	in := newInterp()
	text, sectionWarns := localConfSections(string(src))
	lx := &lexer{src: text, line: 1}
	in.run(lx.commands())
	if in.tooMuch > 0 {
		return nil, nil, fmt.Errorf("import %s:%d: stopped here: the file's assignments and service edits up to this line copy more than %s of text, where a localrc needs kilobytes; not a localrc xenlab translates", filename, in.tooMuch, sizeText(maxWork))
	}
	if len(in.order) > maxSettings {
		return nil, nil, fmt.Errorf("import %s: it sets %d variables, where a localrc sets tens; xenlab translates at most %d", filename, len(in.order), maxSettings)
	}
	if in.commands > 0 && in.settings == 0 {
		// Nothing of a file that is not a localrc (/etc/shadow) is quoted:
		// its lines may be anyone's secrets.
		return nil, nil, fmt.Errorf("import %s: not a localrc: none of its %d lines of commands sets a variable (NAME=value) or calls enable_service, disable_service or disable_all_services (its content is not shown)", filename, in.commands)
	}
	in.warns = append(append(in.warns, lx.warns...), sectionWarns...)

	m := &mapper{in: in, out: newLabOut(), warns: in.warns, envSet: map[string]bool{}, passed: map[string]bool{}}
	m.mapAll()
	out := m.out.render(name)
	if len(out) > MaxLabFileSize {
		return nil, nil, fmt.Errorf("import %s: the lab file would be %d bytes, more than the %s a lab file may be (it would pass %d settings to devstack); a localrc sets tens", filename, len(out), sizeText(MaxLabFileSize), len(m.out.extra))
	}
	warns := append(renderWarnings(name, m.warns), name+": "+m.envSummary())

	// The promise: what Import writes, Parse accepts. Check it with every
	// environment variable set, as the user will have them.
	env := evalEnv{
		dir:       fileDir(filename),
		lookupEnv: func(string) (string, bool) { return "set", true },
		readFile:  func(string) ([]byte, error) { return nil, errors.New("import emits no file() calls") },
	}
	if _, perr := parse("imported.hcl", out, env); perr != nil {
		return out, warns, fmt.Errorf("import %s: the generated lab file does not validate (a bug in xenlab): %w", filename, perr)
	}
	return out, warns, nil
}

// MaxLocalrcSize is the largest localrc Import reads: a localrc is a few
// kilobytes, and /dev/zero or a log must neither fill the memory nor keep
// xenlab busy.
const MaxLocalrcSize = 1 << 20

// maxSettings bounds the variables an imported localrc may set: devstack
// knows a few hundred, and each becomes a lab-file attribute that is
// rendered and parsed again.
const maxSettings = 2000

// ReadLocalrc reads the localrc at path for Import: a regular file (a
// FIFO, a device or a directory is refused before a byte is read, and the
// open does not block) of at most MaxLocalrcSize bytes.
func ReadLocalrc(path string) ([]byte, error) {
	b, err := readRegular(path, MaxLocalrcSize)
	var nr *notRegularError
	var tl *tooLargeError
	switch {
	case errors.As(err, &nr) || errors.As(err, &tl):
		return nil, fmt.Errorf("%s cannot be imported: %w", path, err)
	case err != nil:
		return nil, err // *fs.PathError names the path
	}
	return b, nil
}

// mapper turns the localrc's variables into lab-file attributes.
type mapper struct {
	in      *interp
	out     *labOut
	warns   []warning
	envVars []string        // read with env(), in the order they appear in the lab file
	envSet  map[string]bool // envVars as a set
	// known maps the literal value of each credential setting of the file
	// to the variable the lab file reads it from (knownSecrets).
	known    map[string]string
	prefixes map[string][]string // the known secrets by their first bytes (findKnownSecret)
	// passed names the credential settings devstack.extra passes to
	// domU's localrc; inDomU maps a credential found in a pass-through
	// value to the variable of domU's localrc that holds it (credentialRef).
	passed       map[string]bool
	inDomU       map[string]string
	refEnv       map[string]string // a variable of inDomU: the env() it is read from
	inlineWarned map[string]bool   // "SETTING=VAR" already warned about
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
		m.warnf(v, "depends on $%s, which this file does not set (or is a credential); not translated, default kept", strings.Join(v.value.refs(), ", $"))
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
	m.xapiURL(get("XENAPI_CONNECTION_URL"))
	if v := get("XENAPI_USER"); v != nil {
		if s, ok := m.literal(v); ok && s != "" {
			m.out.set("host.xapi_user", cty.StringVal(s))
		}
	}
	get("XENAPI_PASSWORD")
	m.out.setCall("host.xapi_password", "env", m.credential("XENAPI_PASSWORD", true))
	// A guest password the file sets, even one it computes, is read from the
	// environment rather than silently becoming devstack's default.
	if get("GUEST_PASSWORD") != nil || m.in.skipped["GUEST_PASSWORD"] {
		m.out.setCall("domu.password", "env", m.credential("GUEST_PASSWORD", true))
	}

	m.plainStrings(get, map[string]string{
		"GUEST_NAME":                 "domu.name",
		"STACK_USER":                 "domu.ssh_user",
		"VM_BRIDGE_OR_NET_NAME":      "networks.vm",
		"PUB_BRIDGE_OR_NET_NAME":     "networks.public",
		"XEN_INT_BRIDGE_OR_NET_NAME": "networks.integration",
		"DEVSTACK_REPO":              "devstack.repo",
		"DEVSTACK_BRANCH":            "devstack.branch",
	})
	m.managementNetwork(get("MGT_BRIDGE_OR_NET_NAME"))
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
	m.netinstallIP(get)
	m.quantum(get)
	m.services(get)
	m.secretExtras(handled)
	m.eraWarning()

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

// defaultXAPIURL is devstack's old XENAPI_CONNECTION_URL default: dom0 as
// domU sees it.
const defaultXAPIURL = "http://169.254.0.1"

// xapiURL maps XENAPI_CONNECTION_URL, with one warning when it is missing
// or unusable. A URL that may hold credentials is not quoted.
func (m *mapper) xapiURL(v *shellVar) {
	fallback := "xapi_url is devstack's old default " + defaultXAPIURL + " (dom0 as domU sees it): point it at your XenServer host"
	if v == nil {
		m.warns = append(m.warns, warning{0, "XENAPI_CONNECTION_URL not set; " + fallback})
		m.out.set("host.xapi_url", cty.StringVal(defaultXAPIURL))
		return
	}
	s, literal := v.value.literal()
	var why string
	switch {
	case v.isArray:
		why = "an array where a single value is expected"
	case !literal:
		why = "depends on $" + strings.Join(v.value.refs(), ", $") + ", which this file does not set (or is a credential)"
	case strings.Contains(s, "@"):
		why = "not usable as xapi_url (it holds credentials, not shown: use XENAPI_USER and XENAPI_PASSWORD)"
	default:
		if _, err := parseXAPIURL(s); err != nil {
			why = fmt.Sprintf("not usable as xapi_url (%v)", err)
		}
	}
	if why == "" {
		if u, _ := parseXAPIURL(s); u != nil {
			if bad := implausibleHost(u.Hostname()); bad != "" {
				m.warnf(v, "%q %s; point xapi_url at your XenServer host", u.Hostname(), bad)
			}
		}
		m.out.set("host.xapi_url", cty.StringVal(s))
		return
	}
	m.warnf(v, "%s; %s", why, fallback)
	m.out.set("host.xapi_url", cty.StringVal(defaultXAPIURL))
}

// envSummary is the final warning: the variables the lab file reads with
// env(), which must be exported before it validates.
func (m *mapper) envSummary() string {
	return "before `xenlab validate`: export " + strings.Join(m.envVars, ", ")
}
