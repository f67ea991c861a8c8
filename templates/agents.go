package templates

import (
	"fmt"
	"strings"

	"xenlab/localrc"
)

// Files of the agents step and where they go in domU: Havana devstack's
// paths (docs/simulator.md, "What it reads").
const (
	LocalrcFile  = "localrc.tmpl"
	QAgtFile     = "q-agt.ini.tmpl"
	QDomUAFile   = "q-domua.ini.tmpl"
	RootwrapFile = "rootwrap.conf.tmpl"
	WrapperFile  = "xenlab-stack.sh.tmpl"
)

// RootHelper is q-agt's root_helper: each command the dom0 agent runs
// goes to dom0's netwrap plugin through xapi.
const RootHelper = "neutron-rootwrap-xen-dom0 /etc/neutron/rootwrap.conf"

// DomURootHelper is q-domua's root_helper (Havana's default for an agent
// on its own host's switch).
const DomURootHelper = "sudo neutron-rootwrap /etc/neutron/rootwrap.conf"

// ShellQuote quotes s for bash as one word, in single quotes (a quote inside becomes quote, backslash, quote, quote).
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Localrc is what devstack's localrc in domU is rendered from.
type Localrc struct {
	Lab               string
	XAPIURL           string // XENAPI_CONNECTION_URL: the URL domU reaches xapi at
	XAPIUser          string
	XAPIPassword      string
	Services          string // ENABLED_SERVICES, already with the agents
	Plugin            string // Q_PLUGIN
	VLANRanges        string // OVS_VLAN_RANGES: physnet1:1000:1024
	PhysicalNetwork   string
	FlatBridge        string // FLAT_NETWORK_BRIDGE: dom0's bridge of the VM network
	IntegrationBridge string // XEN_INTEGRATION_BRIDGE: dom0's bridge of the integration network
	StackUser         string
	Extra             []localrc.Setting // devstack.extra, passed through
}

// localrcData is Localrc with the pass-through settings as lines,
// credentials first.
type localrcData struct {
	Localrc
	Credentials, Settings []string
}

// varName is a shell variable name.
func varName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// settingLine renders one pass-through setting. A credential's setting
// (localrc.CredentialName) is literal text, single-quoted, so bash expands
// nothing in it; any other value is written between double quotes, so
// devstack expands $NAME and ${NAME} in it when it reads localrc, as
// docs/configuration.md says, after localrc.CheckDoubleQuoted made sure it
// can neither end its quotes nor run a command.
func settingLine(s localrc.Setting) (string, error) {
	if !varName(s.Name) {
		return "", fmt.Errorf("templates: localrc: devstack.extra: %q is not a shell variable name", s.Name)
	}
	quote := ShellQuote
	if !localrc.CredentialName(s.Name) {
		quote = func(v string) string { return `"` + v + `"` }
		values := s.Array
		if !s.IsArray {
			values = []string{s.Value}
		}
		for _, v := range values {
			if err := localrc.CheckDoubleQuoted(v); err != nil {
				return "", fmt.Errorf("templates: localrc: devstack.extra: %s: %w", s.Name, err)
			}
		}
	}
	if !s.IsArray {
		return s.Name + "=" + quote(s.Value), nil
	}
	q := make([]string, len(s.Array))
	for i, v := range s.Array {
		q[i] = quote(v)
	}
	return s.Name + "=(" + strings.Join(q, " ") + ")", nil
}

// RenderLocalrc renders domU's localrc. xenlab's own values and the
// credentials are single-quoted, so bash reads them back as written (a
// line break inside quotes stays in the value); the other pass-through
// settings are double-quoted for devstack to expand their $NAME (see
// settingLine). The credentials come first, so the settings after them may
// refer to them.
func RenderLocalrc(l Localrc) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"Lab", l.Lab}, {"XAPIURL", l.XAPIURL}, {"XAPIUser", l.XAPIUser},
		{"Services", l.Services}, {"Plugin", l.Plugin}, {"VLANRanges", l.VLANRanges},
		{"PhysicalNetwork", l.PhysicalNetwork}, {"FlatBridge", l.FlatBridge},
		{"IntegrationBridge", l.IntegrationBridge}, {"StackUser", l.StackUser}} {
		if err := oneLine("localrc", f.name, f.v); err != nil {
			return nil, err
		}
		if f.v == "" {
			return nil, fmt.Errorf("templates: localrc: %s is empty", f.name)
		}
	}
	if l.XAPIPassword == "" {
		return nil, fmt.Errorf("templates: localrc: XAPIPassword is empty")
	}
	d := localrcData{Localrc: l}
	for _, s := range l.Extra {
		line, err := settingLine(s)
		if err != nil {
			return nil, err
		}
		if localrc.CredentialName(s.Name) {
			d.Credentials = append(d.Credentials, line)
		} else {
			d.Settings = append(d.Settings, line)
		}
	}
	return render(LocalrcFile, d)
}

// Agent is what one Open vSwitch agent's ini file is rendered from.
type Agent struct {
	TenantNetworkType string // tenant_network_type: vlan
	VLANRanges        string // network_vlan_ranges
	PhysicalNetwork   string // physnet1
	IntegrationBridge string
	PhysicalBridge    string
	RootHelper        string
}

// iniValue refuses what an ini value cannot hold: a line break, and
// leading or trailing blanks, which ConfigParser strips.
func iniValue(file, field, v string) error {
	if err := oneLine(file, field, v); err != nil {
		return err
	}
	if v == "" {
		return fmt.Errorf("templates: %s: %s is empty", file, field)
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("templates: %s: %s has leading or trailing blanks, which an ini reader drops", file, field)
	}
	return nil
}

func renderAgent(file string, a Agent) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"TenantNetworkType", a.TenantNetworkType}, {"VLANRanges", a.VLANRanges}, {"PhysicalNetwork", a.PhysicalNetwork},
		{"IntegrationBridge", a.IntegrationBridge}, {"PhysicalBridge", a.PhysicalBridge}, {"RootHelper", a.RootHelper}} {
		if err := iniValue(file, f.name, f.v); err != nil {
			return nil, err
		}
	}
	return render(file, a)
}

// RenderQAgt renders q-agt's ini (ovs_neutron_plugin.ini): dom0's bridges.
func RenderQAgt(a Agent) ([]byte, error) { return renderAgent(QAgtFile, a) }

// RenderQDomUA renders q-domua's ini (ovs_neutron_plugin.ini.domU): domU's bridges.
func RenderQDomUA(a Agent) ([]byte, error) { return renderAgent(QDomUAFile, a) }

// Rootwrap is what rootwrap.conf's [xenapi] section is rendered from.
type Rootwrap struct {
	XAPIURL, XAPIUser, XAPIPassword string
}

// RenderRootwrap renders /etc/neutron/rootwrap.conf.
func RenderRootwrap(r Rootwrap) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"XAPIURL", r.XAPIURL}, {"XAPIUser", r.XAPIUser}} {
		if err := iniValue("rootwrap.conf", f.name, f.v); err != nil {
			return nil, err
		}
	}
	// The password is never quoted in an error.
	if r.XAPIPassword == "" || strings.TrimSpace(r.XAPIPassword) != r.XAPIPassword ||
		strings.ContainsFunc(r.XAPIPassword, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("templates: rootwrap.conf: the xapi password is empty, has leading or trailing blanks " +
			"or a control character, which an ini file cannot hold")
	}
	return render(RootwrapFile, r)
}

// Wrapper is what xenlab's wrapper of stack.sh is rendered from; every
// path is an absolute path without blanks or quotes.
type Wrapper struct {
	Dir    string // devstack's checkout
	Log    string // stack.sh's output, kept
	Marker string // written last, only after stack.sh exited 0
}

// RenderWrapper renders xenlab-stack.sh.
func RenderWrapper(w Wrapper) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"Dir", w.Dir}, {"Log", w.Log}, {"Marker", w.Marker}} {
		if !strings.HasPrefix(f.v, "/") || strings.ContainsAny(f.v, " \t'\"\\$`;&|<>()*?[]{}!#~\n\r") {
			return nil, fmt.Errorf("templates: xenlab-stack.sh: %s %q is not a plain absolute path", f.name, f.v)
		}
	}
	return render(WrapperFile, w)
}
