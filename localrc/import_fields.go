package localrc

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// The mappings of individual localrc settings onto lab-file fields.

// plainStrings maps settings whose value is copied as it is.
func (m *mapper) plainStrings(get func(string) *shellVar, fields map[string]string) {
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		v := get(key)
		if v == nil {
			continue
		}
		s, ok := m.literal(v)
		switch {
		case !ok:
		case s == "":
			m.warnf(v, "empty; default kept")
		case hasSecretOption(s):
			m.warnf(v, "holds a credential (not shown); not translated, default kept")
		case strings.HasPrefix(fields[key], "networks.") && strings.HasPrefix(s, "xapi"):
			m.warnf(v, "%q is a bridge name; networks are named by name-label in a lab file, so use the network's name-label", s)
			m.out.set(fields[key], cty.StringVal(s))
		default:
			m.out.set(fields[key], cty.StringVal(s))
		}
	}
}

// distinctNetworks drops network names that collide with another network
// (set or default), so the lab file keeps four distinct networks.
func (m *mapper) distinctNetworks() {
	fields := []string{"networks.vm", "networks.public", "networks.integration", "networks.management"}
	defaults := map[string]string{"networks.vm": DefaultVMNetwork, "networks.public": DefaultPublicNetwork, "networks.integration": DefaultIntNetwork}
	name := func(f string) (string, bool) {
		if a, ok := m.out.attrs[f]; ok {
			return a.value.AsString(), true
		}
		return defaults[f], false
	}
	for round := 0; round < len(fields); round++ {
		seen := map[string]string{}
		clash := false
		for _, f := range fields {
			n, set := name(f)
			if n == "" {
				continue
			}
			other, dup := seen[n]
			if !dup {
				seen[n] = f
				continue
			}
			drop := f
			if !set {
				drop = other
			}
			m.warns = append(m.warns, warning{m.lineOf(drop), fmt.Sprintf("%s and %s would both be %q; xenlab needs distinct networks, %s not translated", other, f, n, drop)})
			delete(m.out.attrs, drop)
			clash = true
			break
		}
		if !clash {
			return
		}
	}
}

// lineOf returns the line of the localrc variable mapped to a lab field.
func (m *mapper) lineOf(field string) int {
	for name, path := range mappedSettings {
		if path == field {
			if v := m.in.vars[name]; v != nil {
				return v.line
			}
		}
	}
	return 0
}

func (m *mapper) intValue(v *shellVar, lo, hi int) (int, bool) {
	s, ok := m.literal(v)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		m.warnf(v, "%q is not a whole number %d-%d; not translated, default kept", s, lo, hi)
		return 0, false
	}
	return n, true
}

func (m *mapper) sizes(get func(string) *shellVar) {
	if v := get("OSDOMU_MEM_MB"); v != nil {
		if n, ok := m.intValue(v, 1, 1<<30); ok {
			sz := Size(n) * MiB
			if sz < MinMemory {
				m.warnf(v, "%d MiB is below xenlab's minimum %s; using %s", n, MinMemory, MinMemory)
				sz = MinMemory
			}
			m.out.set("domu.memory", cty.StringVal(sz.String()))
		}
	}
	if v := get("OSDOMU_VDI_GB"); v != nil {
		if n, ok := m.intValue(v, 1, 1<<20); ok {
			sz := Size(n) * GiB
			if sz < MinDisk {
				m.warnf(v, "%d GiB is below xenlab's minimum %s; using %s", n, MinDisk, MinDisk)
				sz = MinDisk
			}
			m.out.set("domu.disk", cty.StringVal(sz.String()))
		}
	}
	if v := get("XEN_XVDB_SIZE_GB"); v != nil {
		if n, ok := m.intValue(v, 0, 1<<20); ok && n > 0 {
			m.out.set("domu.xvdb_size", cty.StringVal((Size(n) * GiB).String()))
		}
	}
}

// ips joins devstack's IP and NETMASK pairs into "dhcp" or CIDR form.
func (m *mapper) ips(get func(string) *shellVar) {
	for _, x := range []struct{ ip, mask, field, def string }{
		{"MGT_IP", "MGT_NETMASK", "domu.management_ip", DefaultMgtIP},
		{"VM_IP", "VM_NETMASK", "domu.vm_ip", DefaultVMIP},
		{"PUB_IP", "PUB_NETMASK", "domu.public_ip", DefaultPubIP},
		{"UBUNTU_INST_IP", "UBUNTU_INST_NETMASK", "domu.ubuntu.ip", defaultFile().DomU.Ubuntu.IP},
	} {
		iv, mv := get(x.ip), get(x.mask)
		if iv == nil && mv == nil {
			continue
		}
		addr, bits := "", 24
		if d, err := ParseIPConfig(x.def); err == nil && !d.DHCP {
			addr, bits = d.Prefix.Addr().String(), d.Prefix.Bits()
		}
		if iv != nil {
			s, ok := m.literal(iv)
			if !ok {
				continue
			}
			if strings.EqualFold(s, "dhcp") {
				m.out.set(x.field, cty.StringVal("dhcp"))
				continue
			}
			addr = s
		}
		if addr == "" {
			if iv != nil {
				m.warnf(iv, "empty; default kept")
			}
			continue
		}
		if mv != nil {
			if s, ok := m.literal(mv); ok {
				b, err := maskBits(s)
				if err != nil {
					m.warnf(mv, "%v; using /%d", err, bits)
				} else {
					bits = b
				}
			}
		}
		cidr := addr + "/" + strconv.Itoa(bits)
		if strings.Contains(addr, "/") {
			cidr = addr
		}
		if _, err := ParseIPConfig(cidr); err != nil {
			v := iv
			if v == nil {
				v = mv
			}
			m.warnf(v, "%q is not an IPv4 address; not translated, default kept", addr)
			continue
		}
		m.out.set(x.field, cty.StringVal(cidr))
	}
}

// maskBits converts a dotted netmask (or a prefix length) to a prefix length.
func maskBits(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 32 {
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("%q is not a netmask", s)
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("%q is not a contiguous netmask", s)
	}
	return bits, nil
}

func (m *mapper) devices(get func(string) *shellVar) {
	used := map[int]string{}
	d := defaultFile().DomU.Devices
	defaults := map[string]int{"MGT_DEV_NR": d.Management, "VM_DEV_NR": d.VM, "PUB_DEV_NR": d.Public, "XEN_INT_DEV_NR": d.Integration}
	fields := map[string]string{"MGT_DEV_NR": "domu.devices.management", "VM_DEV_NR": "domu.devices.vm", "PUB_DEV_NR": "domu.devices.public", "XEN_INT_DEV_NR": "domu.devices.integration"}
	keys := []string{"MGT_DEV_NR", "VM_DEV_NR", "PUB_DEV_NR", "XEN_INT_DEV_NR"}
	final := map[string]int{}
	for _, k := range keys {
		final[k] = defaults[k]
		if v := get(k); v != nil {
			if n, ok := m.intValue(v, 0, MaxDevice); ok {
				final[k] = n
				m.out.set(fields[k], cty.NumberIntVal(int64(n)))
			}
		}
	}
	for _, k := range keys {
		if other, dup := used[final[k]]; dup {
			line := 0
			if v := m.in.vars[k]; v != nil {
				line = v.line
			}
			m.warns = append(m.warns, warning{line, fmt.Sprintf("%s: device %d is also %s's; not translated", k, final[k], other)})
			delete(m.out.attrs, fields[k])
			final[k] = defaults[k]
			if _, clash := used[final[k]]; clash {
				// the default is taken too: pick the lowest free number
				for n := 0; n <= MaxDevice; n++ {
					if _, taken := used[n]; !taken {
						final[k] = n
						break
					}
				}
				m.out.set(fields[k], cty.NumberIntVal(int64(final[k])))
			}
		}
		used[final[k]] = k
	}
}

// netinstallIP maps Grizzly's NETINSTALLIP, the switch between a DHCP and
// a static Ubuntu install (scripts/install_ubuntu_template.sh, grizzly-eol;
// the static address is UBUNTU_INST_IP).
func (m *mapper) netinstallIP(get func(string) *shellVar) {
	v := get("NETINSTALLIP")
	if v == nil {
		return
	}
	s, ok := m.literal(v)
	if !ok {
		return
	}
	switch {
	case strings.EqualFold(s, "dhcp"):
		if m.in.vars["UBUNTU_INST_IP"] != nil {
			m.warnf(v, "\"dhcp\": the Ubuntu install uses DHCP, so UBUNTU_INST_IP is not used; domu.ubuntu.ip = \"dhcp\"")
		}
		m.out.set("domu.ubuntu.ip", cty.StringVal("dhcp"))
	case m.in.vars["UBUNTU_INST_IP"] == nil:
		m.warnf(v, "%q asks for a static Ubuntu install, whose address is UBUNTU_INST_IP, which this file does not set; not translated, domu.ubuntu.ip keeps DHCP", s)
	}
}

func (m *mapper) ubuntu(get func(string) *shellVar) {
	checks := []struct {
		key, field string
		ok         func(string) bool
	}{
		{"UBUNTU_INST_RELEASE", "domu.ubuntu.release", validRelease},
		{"UBUNTU_INST_ARCH", "domu.ubuntu.arch", validArch},
		{"UBUNTU_INST_HTTP_HOSTNAME", "domu.ubuntu.mirror_host", validMirrorHost},
		{"UBUNTU_INST_HTTP_DIRECTORY", "domu.ubuntu.mirror_dir", validMirrorDir},
		{"UBUNTU_INST_HTTP_PROXY", "domu.ubuntu.proxy", func(s string) bool { return s == "" || validProxy(s) }},
	}
	for _, c := range checks {
		v := get(c.key)
		if v == nil {
			continue
		}
		s, ok := m.literal(v)
		if !ok {
			continue
		}
		switch {
		case c.ok(s):
		case strings.Contains(s, "@"): // a proxy or mirror with user:password@
			m.warnf(v, "not a valid %s (it holds credentials, not shown); default kept", c.field)
			continue
		default:
			m.warnf(v, "%q is not a valid %s; default kept", s, c.field)
			continue
		}
		m.out.set(c.field, cty.StringVal(s))
	}
}

func validProxy(s string) bool {
	_, err := parseXAPIURL(s)
	return err == nil
}

func (m *mapper) quantum(get func(string) *shellVar) {
	if v := get("Q_PLUGIN"); v != nil {
		if s, ok := m.literal(v); ok {
			if s == "openvswitch" {
				m.out.set("quantum.plugin", cty.StringVal(s))
			} else {
				m.warnf(v, "%q: xenlab builds the openvswitch plugin only (the one devstack's XenServer support configures, with q-domua in domU); openvswitch used", s)
			}
		}
	}
	if v := get("ENABLE_TENANT_VLANS"); v != nil {
		if s, ok := m.literal(v); ok {
			if b, ok := parseShellBool(s); ok && b {
				m.out.set("quantum.tenant_network_type", cty.StringVal("vlan"))
			} else {
				m.warnf(v, "%q: xenlab builds VLAN tenant networks only; vlan used", s)
			}
		}
	}
	if v := get("TENANT_NETWORK_TYPE"); v != nil {
		if s, ok := m.literal(v); ok && s != "vlan" {
			m.warnf(v, "%q: xenlab builds VLAN tenant networks only; vlan used", s)
		}
	}
	if v := get("PHYSICAL_NETWORK"); v != nil {
		if s, ok := m.literal(v); ok {
			if physnetRE.MatchString(s) {
				m.out.set("quantum.physical_network", cty.StringVal(s))
			} else {
				m.warnf(v, "%q is not a physical network name; default kept", s)
			}
		}
	}
	m.vlans(get)
	if v := get("OVS_PHYSICAL_BRIDGE"); v != nil {
		if s, ok := m.literal(v); ok {
			if bridgeRE.MatchString(s) && s != "br-int" {
				m.out.set(`quantum.agent.q-domua.physical_bridge`, cty.StringVal(s))
			} else {
				m.warnf(v, "%q is not usable as q-domua's physical bridge; default kept", s)
			}
		}
	}
}

// vlans maps the VLAN range: OVS_VLAN_RANGES (the openvswitch plugin),
// ML2_VLAN_RANGES (ml2, Icehouse and later) or, when neither is set,
// TENANT_VLAN_RANGE, which devstack joins to PHYSICAL_NETWORK
// (lib/neutron_plugins/openvswitch and ml2, icehouse-eol).
func (m *mapper) vlans(get func(string) *shellVar) {
	ovs, ml2, tenant := get("OVS_VLAN_RANGES"), get("ML2_VLAN_RANGES"), get("TENANT_VLAN_RANGE")
	use := ovs
	if ml2 != nil && (ovs == nil || m.pluginIs("ml2")) {
		use = ml2
	}
	if ovs != nil && ml2 != nil {
		other := ovs
		if use == ovs {
			other = ml2
		}
		m.warnf(other, "ignored: %s sets the VLAN range (devstack reads one of them, by Q_PLUGIN)", use.name)
	}
	if use != nil {
		if tenant != nil {
			m.warnf(tenant, "ignored: %s sets the VLAN range", use.name)
		}
		if s, ok := m.literal(use); ok {
			m.vlanRanges(use, s)
		}
		return
	}
	if tenant == nil {
		return
	}
	s, ok := m.literal(tenant)
	if !ok {
		return
	}
	r, err := ParseVLANRange(strings.TrimSpace(s))
	if err != nil {
		m.warnf(tenant, "%v; default kept", err)
		return
	}
	m.out.set("quantum.vlan_range", cty.StringVal(r.String()))
}

// pluginIs reports whether the file sets Q_PLUGIN to name.
func (m *mapper) pluginIs(name string) bool {
	v := m.in.vars["Q_PLUGIN"]
	if v == nil {
		return false
	}
	s, ok := v.value.literal()
	return ok && s == name
}

// bridgeNameRE is the form of the bridges xapi names: xenbrN for a
// physical PIF's network, xapiN for internal, VLAN and bond networks.
var bridgeNameRE = regexp.MustCompile(`^(xenbr|xapi)[0-9]+$`)

// managementNetwork maps MGT_BRIDGE_OR_NET_NAME, which devstack read as a
// bridge when dom0 had a bridge of that name and as a name-label
// otherwise (tools/xen/functions _network_uuid, havana-eol). A lab file
// says which: a value of a bridge's form (xenbr0, xapi1) becomes
// networks.management_bridge, any other networks.management.
func (m *mapper) managementNetwork(v *shellVar) {
	if v == nil {
		return
	}
	s, ok := m.literal(v)
	switch {
	case !ok:
	case s == "":
		m.warnf(v, "empty; the management network stays the one of the management PIF")
	case hasSecretOption(s):
		m.warnf(v, "holds a credential (not shown); not translated")
	case bridgeNameRE.MatchString(s):
		m.warnf(v, "%q has the form of a dom0 bridge, so it becomes networks.management_bridge; if it is a network's name-label, write networks.management = %q instead", s, s)
		m.out.set("networks.management_bridge", cty.StringVal(s))
	default:
		m.out.set("networks.management", cty.StringVal(s))
	}
}

// vlanRanges maps OVS_VLAN_RANGES=physnet1:1000:1024[,...].
func (m *mapper) vlanRanges(v *shellVar, s string) {
	ranges := strings.Split(s, ",")
	if len(ranges) > 1 {
		m.warnf(v, "%q has several ranges; xenlab uses the first, %q", s, ranges[0])
	}
	fields := strings.Split(strings.TrimSpace(ranges[0]), ":")
	if len(fields) != 3 {
		m.warnf(v, "%q is not physnet:min:max (a flat network has no VLANs); default kept", s)
		return
	}
	if !physnetRE.MatchString(fields[0]) {
		m.warnf(v, "%q is not a physical network name; default kept", fields[0])
		return
	}
	r, err := ParseVLANRange(fields[1] + ":" + fields[2])
	if err != nil {
		m.warnf(v, "%v; default kept", err)
		return
	}
	if _, set := m.out.attrs["quantum.physical_network"]; set && m.out.attrs["quantum.physical_network"].value.AsString() != fields[0] {
		m.warnf(v, "physical network %q differs from PHYSICAL_NETWORK; %q used", fields[0], fields[0])
	}
	m.out.set("quantum.physical_network", cty.StringVal(fields[0]))
	m.out.set("quantum.vlan_range", cty.StringVal(r.String()))
}

func stringList(list []string) cty.Value {
	if len(list) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(list))
	for i, s := range list {
		vals[i] = cty.StringVal(s)
	}
	return cty.TupleVal(vals)
}

// extra passes a setting through, written as bash will see it inside
// double quotes (references to stackrc's variables stay ${NAME}). A
// credential inside the value (--password=x, -px, password=x, user:x@) is
// not written: the lab file reads it with env() (see secretPieces).
func (m *mapper) extra(v *shellVar) {
	if v.isArray && len(v.array) > maxServices {
		m.warnf(v, "an array of %d elements, more than the %d xenlab passes through; not translated", len(v.array), maxServices)
		return
	}
	values := []segs{v.value}
	if v.isArray {
		values = v.array
	}
	if root, found := m.embeddedSecret(values); found {
		m.warnf(v, "not translated: its text holds the value of %s (not shown) inside other text, which cannot be replaced without changing what the value means; write it in devstack.extra yourself, with $${%s} where the credential goes", root, root)
		return
	}
	m.checkRefs(v)
	elems := make([][]piece, len(values))
	for i, e := range values {
		elems[i] = m.secretPieces(v, e)
	}
	m.out.extra = append(m.out.extra, extraSetting{name: v.name, pieces: elems, isArray: v.isArray})
}

// parseShellBool reads devstack's spellings of a boolean.
func parseShellBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on":
		return true, true
	case "false", "no", "0", "off", "":
		return false, true
	}
	return false, false
}
