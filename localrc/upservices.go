package localrc

import "slices"

// AgentServices are the services a lab needs in ENABLED_SERVICES: Quantum's
// server and agents, with q-domua, the Open vSwitch agent of domU's own
// switch. `xenlab up` adds the missing ones to what devstack would run.
var AgentServices = []string{"q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua"}

// UpServices is the ENABLED_SERVICES `xenlab up` writes to domU's localrc:
// the services devstack would run (Effective), without nova-network
// (n-net), which cannot run beside Quantum, and with every AgentServices
// entry added at the end. added and dropped say what changed.
func UpServices(d Devstack) (list, added, dropped []string) {
	for _, s := range d.Effective() {
		if s == "n-net" {
			dropped = append(dropped, s)
			continue
		}
		list = append(list, s)
	}
	for _, s := range AgentServices {
		if !slices.Contains(list, s) {
			list = append(list, s)
			added = append(added, s)
		}
	}
	return list, added, dropped
}

// DomULocalrcSettings are the settings xenlab's localrc of domU sets before
// the pass-through ones (templates/localrc.tmpl; a test there keeps the two
// in step), so devstack.extra values may refer to them.
var DomULocalrcSettings = []string{
	"XENAPI_CONNECTION_URL", "XENAPI_USER", "XENAPI_PASSWORD", "VIRT_DRIVER", "ENABLED_SERVICES", "Q_PLUGIN",
	"ENABLE_TENANT_VLANS", "OVS_VLAN_RANGES", "PHYSICAL_NETWORK", "FLAT_NETWORK_BRIDGE", "XEN_INTEGRATION_BRIDGE", "STACK_USER",
}

// devstackSettings are the variables set in domU when devstack reads
// localrc: what stack.sh sets before it sources stackrc (TOP_DIR), what
// stackrc sets before it sources localrc (devstack havana-eol, stackrc: RC_DIR
// to USE_SCREEN), and the shell's own. Anything else a pass-through value
// refers to is empty there, unless the lab file sets it.
var devstackSettings = []string{
	"TOP_DIR", "RC_DIR", "DEST", "DATA_DIR", "SERVICE_DIR", "STACK_USER", "ENABLED_SERVICES",
	"NOVA_ENABLED_APIS", "IDENTITY_API_VERSION", "USE_SCREEN",
	"HOME", "USER", "LOGNAME", "PATH", "PWD", "SHELL", "HOSTNAME", "UID", "EUID",
}
