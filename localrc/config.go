package localrc

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"xenlab/secret"
)

// Config is a validated lab file with every default filled in.
type Config struct {
	Filename string // the lab file as given to Load/Parse
	Dir      string // its directory; relative paths in the file are resolved against it
	Lab      string // the lab's name: every object xenlab creates is tagged xenlab-lab=<Lab>
	Hosts    []Host // one or more XenServer hosts, in file order; names are unique
	Networks Networks
	DomU     DomU
	Quantum  Quantum
	Devstack Devstack
	Timeouts Timeouts
	// Warnings are the lab file's warning diagnostics ("file:line:col:
	// warning: ..."): values that load but cannot be right, such as a
	// placeholder host or a password ending in a newline. Never a secret.
	Warnings []string
}

// Host is one XenServer host (dom0) of the lab: how to reach xapi and SSH.
type Host struct {
	Name            string // the block label
	XAPIURL         string // XENAPI_CONNECTION_URL, an http or https URL
	XAPIUser        string // XENAPI_USER
	XAPIPassword    Secret // XENAPI_PASSWORD
	XAPIFingerprint string // "" or a SHA-256 certificate pin, normalised to "sha256:AB:CD:..." (32 bytes)
	SSHHost         string // dom0's SSH address; defaults to the host part of XAPIURL
	SSHPort         int
	SSHUser         string
	SSHKey          string // absolute path of a private key, or "" (use the SSH agent)
	SSHPassword     Secret // "" = no password authentication
	KnownHosts      string // absolute path of the known_hosts file used to check dom0's host key
}

// SSHAddr returns "host:port" for dialling dom0 over SSH.
func (h Host) SSHAddr() string {
	return netJoin(h.SSHHost, h.SSHPort)
}

func netJoin(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// BridgeMode says how the integration network's bridge is forced to exist in
// dom0 before the dom0 agent configures it.
type BridgeMode string

const (
	// BridgePlaceholder gives domU an extra VIF on the integration network
	// (devstack f652e0fb, May 2013); its dom0 port is parked on VLAN 4095.
	BridgePlaceholder BridgeMode = "placeholder"
	// BridgeAttach calls network.attach on the host (devstack d8511034, July 2013).
	BridgeAttach BridgeMode = "attach"
)

// Networks names the xapi networks of the lab.
type Networks struct {
	VM                string     // VM_BRIDGE_OR_NET_NAME
	Public            string     // PUB_BRIDGE_OR_NET_NAME
	Integration       string     // XEN_INT_BRIDGE_OR_NET_NAME
	Management        string     // MGT_BRIDGE_OR_NET_NAME when a name-label; "" = see ManagementBridge
	ManagementBridge  string     // MGT_BRIDGE_OR_NET_NAME when a dom0 bridge (xenbr0); both "" = the network of the management PIF
	IntegrationBridge BridgeMode // placeholder or attach
	// ReuseExisting adopts the one existing network named like a lab
	// network (never tagged, changed or destroyed) instead of making the
	// lab's own.
	ReuseExisting bool
}

// IPConfig is how one of domU's interfaces gets its address: DHCP, or a
// static address with its prefix length.
type IPConfig struct {
	DHCP   bool
	Prefix netip.Prefix // the address and prefix length when !DHCP (not masked: 10.255.255.255/24 stays as written)
}

// String returns "dhcp" or "a.b.c.d/nn".
func (ip IPConfig) String() string {
	if ip.DHCP {
		return "dhcp"
	}
	return ip.Prefix.String()
}

// Netmask returns the dotted netmask of a static address ("" for DHCP), as
// devstack's VM_NETMASK/PUB_NETMASK wanted it.
func (ip IPConfig) Netmask() string {
	if ip.DHCP || !ip.Prefix.IsValid() || !ip.Prefix.Addr().Is4() {
		return ""
	}
	bits := ip.Prefix.Bits()
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// Devices are the VIF device numbers of domU's interfaces (unique).
type Devices struct {
	Management  int // MGT_DEV_NR
	VM          int // VM_DEV_NR
	Public      int // PUB_DEV_NR
	Integration int // XEN_INT_DEV_NR (the placeholder VIF; unused with BridgeAttach)
}

// Ubuntu says how the domU template is installed the first time.
type Ubuntu struct {
	Release    string // UBUNTU_INST_RELEASE
	Arch       string // UBUNTU_INST_ARCH: amd64 or i386
	MirrorHost string // UBUNTU_INST_HTTP_HOSTNAME
	MirrorDir  string // UBUNTU_INST_HTTP_DIRECTORY
	Proxy      string // UBUNTU_INST_HTTP_PROXY; "" = none
	IP         IPConfig
	Preseed    string // preseed file contents; "" = xenlab's built-in preseed
}

// DomU is the OpenStack guest (devstack's "OS domU").
type DomU struct {
	Name            string // GUEST_NAME
	Memory          Size   // OSDOMU_MEM_MB
	VCPUs           int
	Disk            Size   // OSDOMU_VDI_GB
	XVDB            Size   // XEN_XVDB_SIZE_GB; 0 = no extra disk
	Template        string // the cached template's name-label
	RebuildTemplate bool   // CLEAN_TEMPLATES
	TemplateFrom    string // TemplateInstall (build and cache a tagged template) or TemplateExisting (use Template as it is)
	Password        Secret // GUEST_PASSWORD
	SSHUser         string // STACK_USER
	SSHPort         int
	ManagementIP    IPConfig // MGT_IP
	VMIP            IPConfig // VM_IP/VM_NETMASK
	PublicIP        IPConfig // PUB_IP/PUB_NETMASK
	Devices         Devices
	Ubuntu          Ubuntu
}

// Where domU's template comes from (domu.template_from).
const (
	// TemplateInstall builds the template devstack's way when the lab's
	// tagged template is missing, and caches it.
	TemplateInstall = "install"
	// TemplateExisting uses the template named domu.template as it is:
	// never modified or destroyed.
	TemplateExisting = "existing"
)

// VLANRange is an inclusive range of VLAN ids within 1-4094.
type VLANRange struct{ Min, Max int }

// String returns "min:max".
func (r VLANRange) String() string { return strconv.Itoa(r.Min) + ":" + strconv.Itoa(r.Max) }

// Agent names.
const (
	AgentDom0 = "q-agt"   // the Open vSwitch agent that drives dom0's switch through netwrap
	AgentDomU = "q-domua" // the agent that drives domU's own switch
)

// Agent is one Quantum Open vSwitch agent's bridges.
type Agent struct {
	Name              string // q-agt or q-domua
	IntegrationBridge string // "" on q-agt: the dom0 bridge of the integration network, learnt from xapi
	PhysicalBridge    string // "" on q-agt: the dom0 bridge of the VM network, learnt from xapi
	PhysicalInterface string // q-domua only: the domU NIC added to PhysicalBridge (eth1)
}

// Quantum holds the Quantum (Neutron) networking settings.
type Quantum struct {
	Plugin            string // Q_PLUGIN; only openvswitch
	TenantNetworkType string // only vlan (ENABLE_TENANT_VLANS=True)
	PhysicalNetwork   string // the physnet of OVS_VLAN_RANGES
	VLANs             VLANRange
	Dom0Agent         Agent // q-agt
	DomUAgent         Agent // q-domua
}

// NetworkVLANRanges returns OVS_VLAN_RANGES / network_vlan_ranges, e.g. "physnet1:1000:1024".
func (q Quantum) NetworkVLANRanges() string { return q.PhysicalNetwork + ":" + q.VLANs.String() }

// Setting is one devstack localrc setting passed through unchanged.
type Setting struct {
	Name      string
	Value     string   // when !IsArray
	Array     []string // when IsArray (NAME=(a b c))
	IsArray   bool
	Sensitive bool // the name looks like a credential (PASSWORD, TOKEN, SECRET, KEY) or the value holds one (--password=x); String redacts it
}

// Format prints the setting as String does, for every verb, so a
// sensitive value cannot leak through %v, %+v or %#v.
func (s Setting) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// MarshalJSON encodes the setting with a sensitive value redacted.
func (s Setting) MarshalJSON() ([]byte, error) {
	type plain Setting
	p := plain(s)
	if s.Sensitive {
		p.Value = secret.Redacted
		if p.Array != nil {
			p.Array = []string{secret.Redacted}
		}
	}
	return json.Marshal(p)
}

// String renders the setting for logs, redacting sensitive values.
func (s Setting) String() string {
	if s.Sensitive {
		return s.Name + "=" + secret.Redacted
	}
	if s.IsArray {
		return s.Name + "=(" + strings.Join(s.Array, " ") + ")"
	}
	return s.Name + "=" + s.Value
}

// Devstack says where devstack comes from and what its localrc adds.
type Devstack struct {
	Repo   string
	Branch string
	// Source, when set, is a local devstack checkout (an absolute path)
	// uploaded into domU instead of a clone of Repo and Branch.
	Source string
	// BaseServices replaces devstack's default ENABLED_SERVICES when non-nil
	// (a localrc that assigned ENABLED_SERVICES=...).
	BaseServices []string
	// EnabledServices is appended to the base (ENABLED_SERVICES+=,...);
	// "-name" disables a service, as devstack's syntax has it.
	EnabledServices []string
	Extra           []Setting // sorted by name
}

// HavanaServices is devstack's default ENABLED_SERVICES in Havana's stackrc.
var HavanaServices = []string{
	"g-api", "g-reg", "key", "n-api", "n-crt", "n-obj", "n-cpu", "n-net", "n-cond", "cinder",
	"c-sch", "c-api", "c-vol", "n-sch", "n-novnc", "n-xvnc", "n-cauth", "horizon", "rabbit",
	"tempest", "mysql",
}

// ServicesLine returns the value devstack would end up with in
// ENABLED_SERVICES: the base (or HavanaServices) joined with the additions.
func (d Devstack) ServicesLine() string {
	return strings.Join(d.services(), ",")
}

// services is the base (or HavanaServices) followed by the additions.
func (d Devstack) services() []string {
	base := d.BaseServices
	if base == nil {
		base = HavanaServices
	}
	return append(append([]string{}, base...), d.EnabledServices...)
}

// Effective returns the services devstack will run: the base plus the
// additions, with every "-name" removing name (devstack's
// disable_negated_services), duplicates dropped, order kept.
func (d Devstack) Effective() []string {
	all := d.services()
	off := map[string]bool{}
	for _, s := range all {
		if strings.HasPrefix(s, "-") {
			off[s[1:]] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, "-") || off[s] || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// Timeouts bound the slow parts of a bring-up.
type Timeouts struct {
	Step  time.Duration // any single step
	Stack time.Duration // stack.sh in domU
	Boot  time.Duration // domU start until SSH answers
}

// SensitiveName reports whether a setting called name holds a credential
// (PASSWORD, TOKEN, SECRET, a name ending in _KEY, SWIFT_HASH), so that
// its value is never printed.
func SensitiveName(name string) bool { return sensitiveName(name) }
