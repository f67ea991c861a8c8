package localrc

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	physnetRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	serviceRE = regexp.MustCompile(`^-?[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	shellRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	bridgeRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`)
	releaseRE = regexp.MustCompile(`^[a-z]+$`)
	hexPairRE = regexp.MustCompile(`^[0-9A-Fa-f]{64}$`)
	secretRE  = regexp.MustCompile(`(?i)PASS|TOKEN|SECRET|_KEY$`)
)

// Limits xenlab enforces beyond devstack's own.
const (
	MinMemory = 512 * MiB // devstack cannot start its services in less
	MinDisk   = 8 * GiB   // OSDOMU_VDI_GB's default: the Ubuntu install plus devstack fills it
	MaxDevice = 15        // VIF device numbers xapi accepts on current hosts
	MaxVCPUs  = 64
)

// validator turns the decoded file into a Config, adding a diagnostic for
// every value it cannot accept.
type validator struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	file  *hcl.File
	env   evalEnv
}

// errorf adds an error about field at rng. Summary names the field; the
// detail says what was expected.
func (v *validator) errorf(rng hcl.Range, field, format string, args ...any) {
	r := rng
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + field,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// failed reports whether decoding already reported an error inside rng, so
// the validator does not pile a second error on the same value.
func (v *validator) failed(rng hcl.Range) bool {
	for _, d := range v.diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Filename == rng.Filename &&
			d.Subject.Start.Byte >= rng.Start.Byte && d.Subject.End.Byte <= rng.End.Byte {
			return true
		}
	}
	return false
}

// at returns the attribute's range, or fallback when the attribute was not
// written (its default is in use).
func at(attr, fallback hcl.Range) hcl.Range {
	if attr.Filename != "" {
		return attr
	}
	return fallback
}

// check runs fn unless decoding already failed on the attribute.
func (v *validator) check(rng hcl.Range, fn func()) {
	if rng.Filename != "" && v.failed(rng) {
		return
	}
	fn()
}

func (v *validator) config(filename string, raw *fileSchema) *Config {
	cfg := &Config{Filename: filename, Dir: v.env.dir, Lab: raw.Lab}
	if raw.LabRange.Filename != "" && !v.failed(raw.LabRange) && !nameRE.MatchString(raw.Lab) {
		v.errorf(raw.LabRange, "lab", "lab must be a name of 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit (it becomes the xenlab-lab ownership tag); got %q", raw.Lab)
	}
	cfg.Hosts = v.hosts(raw.Hosts)
	cfg.Networks = v.networks(raw.Networks)
	cfg.DomU = v.domu(raw.DomU, cfg.Networks.IntegrationBridge)
	cfg.Quantum = v.quantum(raw.Quantum)
	cfg.Devstack = v.devstack(raw.Devstack)
	cfg.Timeouts = v.timeouts(raw.Timeouts)
	return cfg
}

func (v *validator) hosts(headers []hostHeader) []Host {
	if len(headers) == 0 {
		r := v.file.Body.MissingItemRange()
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing host block",
			Detail:   `At least one host "name" { xapi_url = ..., xapi_password = ... } block is required.`,
			Subject:  &r,
		})
		return nil
	}
	seen := map[string]hcl.Range{}
	urls := map[string]string{}
	var out []Host
	for _, hh := range headers {
		if prev, dup := seen[hh.Name]; dup {
			v.errorf(hh.LabelRange, "host label", "host %q is already defined at %s; host labels must be unique", hh.Name, prev)
		} else if !nameRE.MatchString(hh.Name) {
			v.errorf(hh.LabelRange, "host label", "a host label must be 1-63 letters, digits, '.', '_' or '-'; got %q", hh.Name)
		}
		seen[hh.Name] = hh.LabelRange
		raw := defaultHost()
		v.diags = append(v.diags, gohcl.DecodeBody(hh.Body, v.ctx, &raw)...)
		h := v.host(hh, &raw)
		if raw.XAPIURLRange.Filename != "" && h.XAPIURL != "" {
			if other, dup := urls[h.XAPIURL]; dup {
				v.errorf(raw.XAPIURLRange, "host.xapi_url", "host %q uses the same xapi_url as host %q; each host block must be a different host", hh.Name, other)
			}
			urls[h.XAPIURL] = hh.Name
		}
		out = append(out, h)
	}
	return out
}

func (v *validator) host(hh hostHeader, raw *hostBlock) Host {
	h := Host{
		Name:         hh.Name,
		XAPIURL:      raw.XAPIURL,
		XAPIUser:     raw.XAPIUser,
		XAPIPassword: Secret(raw.XAPIPassword),
		SSHHost:      raw.SSHHost,
		SSHPort:      raw.SSHPort,
		SSHUser:      raw.SSHUser,
		SSHKey:       expandPath(raw.SSHKey, v.env.dir),
		SSHPassword:  Secret(raw.SSHPassword),
		KnownHosts:   expandPath(raw.KnownHosts, v.env.dir),
	}
	if raw.XAPIURLRange.Filename != "" {
		v.check(raw.XAPIURLRange, func() {
			u, err := parseXAPIURL(raw.XAPIURL)
			if err != nil {
				v.errorf(raw.XAPIURLRange, "host.xapi_url", "xapi_url must be an http:// or https:// URL of the XenServer host, e.g. \"https://192.168.1.10\": %v", err)
				return
			}
			if h.SSHHost == "" {
				h.SSHHost = u.Hostname()
			}
		})
	}
	v.check(raw.XAPIUserRange, func() {
		if raw.XAPIUser == "" {
			v.errorf(at(raw.XAPIUserRange, hh.DefRange), "host.xapi_user", "xapi_user must not be empty (devstack's XENAPI_USER is usually \"root\")")
		}
	})
	v.check(raw.XAPIFingerprintRange, func() {
		fp, err := normalizeFingerprint(raw.XAPIFingerprint)
		if err != nil {
			v.errorf(raw.XAPIFingerprintRange, "host.xapi_fingerprint", "%v", err)
		}
		h.XAPIFingerprint = fp
	})
	v.check(raw.SSHHostRange, func() {
		if raw.SSHHostRange.Filename != "" && (raw.SSHHost == "" || strings.ContainsAny(raw.SSHHost, " /@")) {
			v.errorf(raw.SSHHostRange, "host.ssh_host", "ssh_host must be a host name or IP address; got %q", raw.SSHHost)
		}
	})
	v.check(raw.SSHUserRange, func() {
		if raw.SSHUser == "" {
			v.errorf(at(raw.SSHUserRange, hh.DefRange), "host.ssh_user", "ssh_user must not be empty")
		}
	})
	v.check(raw.SSHPortRange, func() { v.port(raw.SSHPort, at(raw.SSHPortRange, hh.DefRange), "host.ssh_port") })
	return h
}

func parseXAPIURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's message quotes the whole URL, credentials included.
		return nil, fmt.Errorf("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials do not belong in the URL; use xapi_user and xapi_password")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not 1-65535", p)
		}
	}
	return u, nil
}

// normalizeFingerprint accepts "sha256:AB:CD:..." or 64 hex digits (with or
// without colons and the prefix) and returns "sha256:AB:CD:..." upper case.
func normalizeFingerprint(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	t := s
	if i := strings.IndexByte(t, ':'); i > 0 && strings.EqualFold(t[:i], "sha256") {
		t = t[i+1:]
	}
	hexs := strings.ReplaceAll(t, ":", "")
	if !hexPairRE.MatchString(hexs) {
		return "", fmt.Errorf("xapi_fingerprint must be the SHA-256 of the host's certificate, \"sha256:\" and 32 hex bytes such as \"sha256:AB:CD:...\"; got %q", s)
	}
	hexs = strings.ToUpper(hexs)
	pairs := make([]string, 0, 32)
	for i := 0; i < len(hexs); i += 2 {
		pairs = append(pairs, hexs[i:i+2])
	}
	return "sha256:" + strings.Join(pairs, ":"), nil
}

func (v *validator) port(p int, rng hcl.Range, field string) {
	if p < 1 || p > 65535 {
		v.errorf(rng, field, "%s must be a TCP port 1-65535; got %d", field[strings.LastIndexByte(field, '.')+1:], p)
	}
}

func (v *validator) networks(raw *networksBlock) Networks {
	n := Networks{
		VM: raw.VM, Public: raw.Public, Integration: raw.Integration, Management: raw.Management,
		IntegrationBridge: BridgeMode(raw.IntegrationBridge),
	}
	type named struct {
		field, value string
		rng          hcl.Range
	}
	list := []named{
		{"networks.vm", raw.VM, at(raw.VMRange, raw.DefRange)},
		{"networks.public", raw.Public, at(raw.PublicRange, raw.DefRange)},
		{"networks.integration", raw.Integration, at(raw.IntegrationRange, raw.DefRange)},
		{"networks.management", raw.Management, at(raw.ManagementRange, raw.DefRange)},
	}
	seen := map[string]string{}
	for i, x := range list {
		if v.failed(x.rng) && x.rng.Filename != "" {
			continue
		}
		if x.value == "" {
			if i < 3 {
				v.errorf(x.rng, x.field, "the network's name-label (or bridge) must not be empty")
			}
			continue
		}
		if other, dup := seen[x.value]; dup {
			v.errorf(x.rng, x.field, "%q is also %s; the lab's networks must be distinct", x.value, other)
			continue
		}
		seen[x.value] = x.field
	}
	v.check(raw.IntegrationBridgeRange, func() {
		switch n.IntegrationBridge {
		case BridgePlaceholder, BridgeAttach:
		default:
			v.errorf(at(raw.IntegrationBridgeRange, raw.DefRange), "networks.integration_bridge", "integration_bridge must be \"placeholder\" (an extra domU VIF) or \"attach\" (network.attach); got %q", raw.IntegrationBridge)
		}
	})
	return n
}

// ip parses "dhcp" or "a.b.c.d/nn".
func (v *validator) ip(s string, rng hcl.Range, field string) IPConfig {
	ipc, err := ParseIPConfig(s)
	if err != nil {
		v.check(rng, func() { v.errorf(rng, field, "%v", err) })
	}
	return ipc
}

// ParseIPConfig parses "dhcp" or an address with its prefix length,
// "10.255.255.255/24" (devstack wrote the netmask separately; Import joins them).
func ParseIPConfig(s string) (IPConfig, error) {
	if strings.EqualFold(s, "dhcp") {
		return IPConfig{DHCP: true}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return IPConfig{}, fmt.Errorf("expected \"dhcp\" or an IPv4 address with its prefix length such as \"10.255.255.255/24\"; got %q", s)
	}
	return IPConfig{Prefix: p}, nil
}

func (v *validator) size(s string, rng hcl.Range, field string, lowest Size) Size {
	sz, err := ParseSize(s)
	if err != nil {
		v.check(rng, func() { v.errorf(rng, field, "%v", err) })
		return 0
	}
	if sz < lowest {
		v.check(rng, func() {
			v.errorf(rng, field, "%s is %s; it must be at least %s", field[strings.LastIndexByte(field, '.')+1:], sz, lowest)
		})
	}
	return sz
}

func (v *validator) nonEmpty(s string, rng hcl.Range, field, what string) {
	if s == "" {
		v.check(rng, func() { v.errorf(rng, field, "%s must not be empty", what) })
	}
}

func (v *validator) domu(raw *domuBlock, mode BridgeMode) DomU {
	def := raw.DefRange
	d := DomU{
		Name: raw.Name, VCPUs: raw.VCPUs, Template: raw.Template, RebuildTemplate: raw.RebuildTemplate,
		Password: Secret(raw.Password), SSHUser: raw.SSHUser, SSHPort: raw.SSHPort,
	}
	v.nonEmpty(raw.Name, at(raw.NameRange, def), "domu.name", "the guest's name-label (GUEST_NAME)")
	d.Memory = v.size(raw.Memory, at(raw.MemoryRange, def), "domu.memory", MinMemory)
	d.Disk = v.size(raw.Disk, at(raw.DiskRange, def), "domu.disk", MinDisk)
	d.XVDB = v.size(raw.XVDB, at(raw.XVDBRange, def), "domu.xvdb_size", 0)
	v.check(raw.VCPUsRange, func() {
		if raw.VCPUs < 1 || raw.VCPUs > MaxVCPUs {
			v.errorf(at(raw.VCPUsRange, def), "domu.vcpus", "vcpus must be 1-%d; got %d", MaxVCPUs, raw.VCPUs)
		}
	})
	v.nonEmpty(raw.Template, at(raw.TemplateRange, def), "domu.template", "the template's name-label")
	v.nonEmpty(raw.SSHUser, at(raw.SSHUserRange, def), "domu.ssh_user", "the stack user (STACK_USER)")
	v.check(raw.SSHPortRange, func() { v.port(raw.SSHPort, at(raw.SSHPortRange, def), "domu.ssh_port") })
	d.ManagementIP = v.ip(raw.ManagementIP, at(raw.ManagementIPRange, def), "domu.management_ip")
	d.VMIP = v.ip(raw.VMIP, at(raw.VMIPRange, def), "domu.vm_ip")
	d.PublicIP = v.ip(raw.PublicIP, at(raw.PublicIPRange, def), "domu.public_ip")
	d.Devices = v.devices(raw.Devices, mode)
	d.Ubuntu = v.ubuntu(raw.Ubuntu)
	return d
}

func (v *validator) devices(raw *devicesBlock, mode BridgeMode) Devices {
	d := Devices{Management: raw.Management, VM: raw.VM, Public: raw.Public, Integration: raw.Integration}
	type dev struct {
		field string
		nr    int
		rng   hcl.Range
	}
	list := []dev{
		{"domu.devices.management", raw.Management, at(raw.ManagementRange, raw.DefRange)},
		{"domu.devices.vm", raw.VM, at(raw.VMRange, raw.DefRange)},
		{"domu.devices.public", raw.Public, at(raw.PublicRange, raw.DefRange)},
	}
	if mode != BridgeAttach {
		list = append(list, dev{"domu.devices.integration", raw.Integration, at(raw.IntegrationRange, raw.DefRange)})
	}
	used := map[int]string{}
	for _, x := range list {
		if x.rng.Filename != "" && v.failed(x.rng) {
			continue
		}
		if x.nr < 0 || x.nr > MaxDevice {
			v.errorf(x.rng, x.field, "a VIF device number must be 0-%d; got %d", MaxDevice, x.nr)
			continue
		}
		if other, dup := used[x.nr]; dup {
			v.errorf(x.rng, x.field, "device %d is already used by %s; each VIF needs its own device number", x.nr, other)
			continue
		}
		used[x.nr] = x.field
	}
	return d
}

func (v *validator) ubuntu(raw *ubuntuBlock) Ubuntu {
	def := raw.DefRange
	u := Ubuntu{Release: raw.Release, Arch: raw.Arch, MirrorHost: raw.MirrorHost, MirrorDir: raw.MirrorDir, Proxy: raw.Proxy, Preseed: raw.Preseed}
	v.check(raw.ReleaseRange, func() {
		if !releaseRE.MatchString(raw.Release) {
			v.errorf(at(raw.ReleaseRange, def), "domu.ubuntu.release", "release must be an Ubuntu code name in lower case such as \"precise\"; got %q", raw.Release)
		}
	})
	v.check(raw.ArchRange, func() {
		if raw.Arch != "amd64" && raw.Arch != "i386" {
			v.errorf(at(raw.ArchRange, def), "domu.ubuntu.arch", "arch must be \"amd64\" or \"i386\"; got %q", raw.Arch)
		}
	})
	v.check(raw.MirrorHostRange, func() {
		if raw.MirrorHost == "" || strings.ContainsAny(raw.MirrorHost, " /") {
			v.errorf(at(raw.MirrorHostRange, def), "domu.ubuntu.mirror_host", "mirror_host must be a host name (with an optional :port) such as \"archive.ubuntu.com\"; got %q", raw.MirrorHost)
		}
	})
	v.check(raw.MirrorDirRange, func() {
		if !strings.HasPrefix(raw.MirrorDir, "/") {
			v.errorf(at(raw.MirrorDirRange, def), "domu.ubuntu.mirror_dir", "mirror_dir must be an absolute path on the mirror such as \"/ubuntu\"; got %q", raw.MirrorDir)
		}
	})
	v.check(raw.ProxyRange, func() {
		if raw.Proxy == "" {
			return
		}
		if p, err := url.Parse(raw.Proxy); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.errorf(at(raw.ProxyRange, def), "domu.ubuntu.proxy", "proxy must be \"\" or an http:// URL such as \"http://proxy:3128\"; got %q", raw.Proxy)
		}
	})
	u.IP = v.ip(raw.IP, at(raw.IPRange, def), "domu.ubuntu.ip")
	return u
}

// ParseVLANRange parses "min:max" with 1 <= min <= max <= 4094.
func ParseVLANRange(s string) (VLANRange, error) {
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		return VLANRange{}, fmt.Errorf("vlan_range must be \"min:max\" such as \"1000:1024\"; got %q", s)
	}
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return VLANRange{}, fmt.Errorf("vlan_range must be two VLAN ids \"min:max\" such as \"1000:1024\"; got %q", s)
	}
	if min < 1 || min > 4094 || max < 1 || max > 4094 {
		return VLANRange{}, fmt.Errorf("VLAN ids must be within 1-4094 (0 and 4095 are reserved); got %q", s)
	}
	if min > max {
		return VLANRange{}, fmt.Errorf("vlan_range must be ordered min:max; %d is greater than %d", min, max)
	}
	return VLANRange{Min: min, Max: max}, nil
}

func (v *validator) quantum(raw *quantumBlock) Quantum {
	def := raw.DefRange
	q := Quantum{Plugin: raw.Plugin, TenantNetworkType: raw.TenantNetworkType, PhysicalNetwork: raw.PhysicalNetwork}
	v.check(raw.PluginRange, func() {
		if raw.Plugin != "openvswitch" {
			v.errorf(at(raw.PluginRange, def), "quantum.plugin", "plugin must be \"openvswitch\" (Q_PLUGIN): xenlab builds the Open vSwitch agents only; got %q", raw.Plugin)
		}
	})
	v.check(raw.TenantNetworkTypeRange, func() {
		if raw.TenantNetworkType != "vlan" {
			v.errorf(at(raw.TenantNetworkTypeRange, def), "quantum.tenant_network_type", "tenant_network_type must be \"vlan\" (ENABLE_TENANT_VLANS=True): xenlab builds VLAN tenant networks only; got %q", raw.TenantNetworkType)
		}
	})
	v.check(raw.PhysicalNetworkRange, func() {
		if !physnetRE.MatchString(raw.PhysicalNetwork) {
			v.errorf(at(raw.PhysicalNetworkRange, def), "quantum.physical_network", "physical_network must be a name such as \"physnet1\" (no ':' or ','); got %q", raw.PhysicalNetwork)
		}
	})
	v.check(raw.VLANRangeRange, func() {
		r, err := ParseVLANRange(raw.VLANRange)
		if err != nil {
			v.errorf(at(raw.VLANRangeRange, def), "quantum.vlan_range", "%v", err)
		}
		q.VLANs = r
	})
	q.Dom0Agent = Agent{Name: AgentDom0}
	q.DomUAgent = Agent{Name: AgentDomU}
	defaults := map[string]agentBlock{AgentDom0: defaultAgent(AgentDom0), AgentDomU: defaultAgent(AgentDomU)}
	seen := map[string]hcl.Range{}
	for _, ah := range raw.Agents {
		if ah.Name != AgentDom0 && ah.Name != AgentDomU {
			v.errorf(ah.LabelRange, "quantum agent", "agent must be \"q-agt\" (dom0's switch) or \"q-domua\" (domU's switch); got %q", ah.Name)
			continue
		}
		if prev, dup := seen[ah.Name]; dup {
			v.errorf(ah.LabelRange, "quantum agent", "agent %q is already defined at %s", ah.Name, prev)
			continue
		}
		seen[ah.Name] = ah.LabelRange
		a := defaultAgent(ah.Name)
		v.diags = append(v.diags, gohcl.DecodeBody(ah.Body, v.ctx, &a)...)
		v.agent(ah, &a)
		defaults[ah.Name] = a
	}
	for name, a := range defaults {
		ag := Agent{Name: name, IntegrationBridge: a.IntegrationBridge, PhysicalBridge: a.PhysicalBridge, PhysicalInterface: a.PhysicalInterface}
		if name == AgentDom0 {
			q.Dom0Agent = ag
		} else {
			q.DomUAgent = ag
		}
	}
	return q
}

func (v *validator) agent(ah agentHeader, a *agentBlock) {
	field := "quantum.agent." + ah.Name
	for _, b := range []struct {
		attr, val string
		rng       hcl.Range
		required  bool
	}{
		{"integration_bridge", a.IntegrationBridge, a.IntegrationBridgeRange, ah.Name == AgentDomU},
		{"physical_bridge", a.PhysicalBridge, a.PhysicalBridgeRange, ah.Name == AgentDomU},
		{"physical_interface", a.PhysicalInterface, a.PhysicalInterfaceRange, ah.Name == AgentDomU},
	} {
		rng := at(b.rng, ah.DefRange)
		v.check(b.rng, func() {
			switch {
			case b.val == "" && b.required:
				v.errorf(rng, field+"."+b.attr, "%s of q-domua must name a device in domU such as %q", b.attr, defaultAgentValue(b.attr))
			case b.val != "" && !bridgeRE.MatchString(b.val):
				v.errorf(rng, field+"."+b.attr, "%s must be a Linux interface name (1-15 letters, digits, '.', '_', '-'); got %q", b.attr, b.val)
			}
		})
	}
	if ah.Name == AgentDom0 && a.PhysicalInterface != "" {
		v.errorf(a.PhysicalInterfaceRange, field+".physical_interface", "physical_interface applies to q-domua only: dom0's physical bridge is the VM network's xapi bridge")
	}
	if a.IntegrationBridge != "" && a.IntegrationBridge == a.PhysicalBridge {
		v.errorf(at(a.PhysicalBridgeRange, ah.DefRange), field+".physical_bridge", "physical_bridge must differ from integration_bridge (%q)", a.IntegrationBridge)
	}
}

func defaultAgentValue(attr string) string {
	d := defaultAgent(AgentDomU)
	switch attr {
	case "integration_bridge":
		return d.IntegrationBridge
	case "physical_bridge":
		return d.PhysicalBridge
	}
	return d.PhysicalInterface
}

func (v *validator) devstack(raw *devstackBlock) Devstack {
	def := raw.DefRange
	d := Devstack{Repo: raw.Repo, Branch: raw.Branch, EnabledServices: raw.EnabledServices}
	v.nonEmpty(raw.Repo, at(raw.RepoRange, def), "devstack.repo", "repo (devstack's git URL or a local path)")
	v.nonEmpty(raw.Branch, at(raw.BranchRange, def), "devstack.branch", "branch (a branch or tag of devstack)")
	if raw.BaseServices != nil {
		d.BaseServices = append([]string{}, (*raw.BaseServices)...)
		v.services(d.BaseServices, at(raw.BaseServicesRange, def), "devstack.base_services")
	}
	if d.EnabledServices == nil {
		d.EnabledServices = []string{}
	}
	v.services(d.EnabledServices, at(raw.EnabledServicesRange, def), "devstack.enabled_services")
	d.Extra = v.extra(raw.Extra)
	return d
}

func (v *validator) services(list []string, rng hcl.Range, field string) {
	v.check(rng, func() {
		for _, s := range list {
			if !serviceRE.MatchString(s) {
				v.errorf(rng, field, "%q is not a devstack service name such as \"q-agt\" (or \"-n-net\" to disable one)", s)
				return
			}
		}
	})
}

// extra decodes devstack.extra: a map of localrc setting names to a string
// (numbers and bools are converted) or a list of strings (a bash array).
func (v *validator) extra(expr hcl.Expression) []Setting {
	if expr == nil {
		return nil
	}
	val, diags := expr.Value(v.ctx)
	v.diags = append(v.diags, diags...)
	if diags.HasErrors() || val.IsNull() {
		return nil
	}
	rng := expr.Range()
	ty := val.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		v.errorf(rng, "devstack.extra", "extra must be a map of localrc settings such as { Q_USE_SECGROUP = \"False\" }")
		return nil
	}
	if !val.IsWhollyKnown() {
		return nil
	}
	ranges := map[string]hcl.Range{}
	if pairs, d := hcl.ExprMap(expr); !d.HasErrors() {
		for _, p := range pairs {
			if k, d := p.Key.Value(v.ctx); !d.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				ranges[k.AsString()] = p.Key.Range()
			}
		}
	}
	var out []Setting
	for it := val.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		krng := rng
		if r, ok := ranges[name]; ok {
			krng = r
		}
		if !shellRE.MatchString(name) {
			v.errorf(krng, "devstack.extra", "%q is not a shell variable name", name)
			continue
		}
		if path, mapped := mappedSettings[name]; mapped {
			v.errorf(krng, "devstack.extra", "%s is set by %s in a lab file, not passed through extra", name, path)
			continue
		}
		s := Setting{Name: name, Sensitive: secretRE.MatchString(name)}
		ety := ev.Type()
		switch {
		case ev.IsNull():
			v.errorf(krng, "devstack.extra", "%s is null; give a string", name)
			continue
		case ety.IsTupleType() || ety.IsListType():
			s.IsArray = true
			s.Array = []string{}
			for ei := ev.ElementIterator(); ei.Next(); {
				_, e := ei.Element()
				str, err := toString(e)
				if err != nil {
					v.errorf(krng, "devstack.extra", "%s: array elements must be strings: %v", name, err)
					break
				}
				s.Array = append(s.Array, str)
			}
		default:
			str, err := toString(ev)
			if err != nil {
				v.errorf(krng, "devstack.extra", "%s must be a string or a list of strings: %v", name, err)
				continue
			}
			s.Value = str
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func toString(v cty.Value) (string, error) {
	if v.IsNull() || !v.Type().IsPrimitiveType() {
		return "", fmt.Errorf("got %s", v.Type().FriendlyName())
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", err
	}
	return s.AsString(), nil
}

func (v *validator) timeouts(raw *timeoutsBlock) Timeouts {
	def := raw.DefRange
	var t Timeouts
	for _, x := range []struct {
		field, val string
		rng        hcl.Range
		dst        *time.Duration
	}{
		{"timeouts.step", raw.Step, at(raw.StepRange, def), &t.Step},
		{"timeouts.stack", raw.Stack, at(raw.StackRange, def), &t.Stack},
		{"timeouts.boot", raw.Boot, at(raw.BootRange, def), &t.Boot},
	} {
		d, err := ParseDuration(x.val)
		if err != nil {
			v.check(x.rng, func() { v.errorf(x.rng, x.field, "%v", err) })
			continue
		}
		*x.dst = d
	}
	return t
}
