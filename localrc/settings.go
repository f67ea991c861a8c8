package localrc

// mappedSettings are the localrc/xenrc variables that have a field of their
// own in a lab file: Import translates them, and devstack.extra refuses
// them so one setting cannot be given twice.
var mappedSettings = map[string]string{
	"XENAPI_CONNECTION_URL":      "host.xapi_url",
	"XENAPI_USER":                "host.xapi_user",
	"XENAPI_PASSWORD":            "host.xapi_password",
	"GUEST_NAME":                 "domu.name",
	"GUEST_PASSWORD":             "domu.password",
	"OSDOMU_MEM_MB":              "domu.memory",
	"OSDOMU_VDI_GB":              "domu.disk",
	"XEN_XVDB_SIZE_GB":           "domu.xvdb_size",
	"CLEAN_TEMPLATES":            "domu.rebuild_template",
	"STACK_USER":                 "domu.ssh_user",
	"MGT_IP":                     "domu.management_ip",
	"MGT_NETMASK":                "domu.management_ip",
	"VM_IP":                      "domu.vm_ip",
	"VM_NETMASK":                 "domu.vm_ip",
	"PUB_IP":                     "domu.public_ip",
	"PUB_NETMASK":                "domu.public_ip",
	"MGT_DEV_NR":                 "domu.devices.management",
	"VM_DEV_NR":                  "domu.devices.vm",
	"PUB_DEV_NR":                 "domu.devices.public",
	"XEN_INT_DEV_NR":             "domu.devices.integration",
	"UBUNTU_INST_RELEASE":        "domu.ubuntu.release",
	"UBUNTU_INST_ARCH":           "domu.ubuntu.arch",
	"UBUNTU_INST_HTTP_HOSTNAME":  "domu.ubuntu.mirror_host",
	"UBUNTU_INST_HTTP_DIRECTORY": "domu.ubuntu.mirror_dir",
	"UBUNTU_INST_HTTP_PROXY":     "domu.ubuntu.proxy",
	"UBUNTU_INST_IP":             "domu.ubuntu.ip",
	"VM_BRIDGE_OR_NET_NAME":      "networks.vm",
	"PUB_BRIDGE_OR_NET_NAME":     "networks.public",
	"XEN_INT_BRIDGE_OR_NET_NAME": "networks.integration",
	"MGT_BRIDGE_OR_NET_NAME":     "networks.management",
	"Q_PLUGIN":                   "quantum.plugin",
	"ENABLE_TENANT_VLANS":        "quantum.tenant_network_type",
	"TENANT_NETWORK_TYPE":        "quantum.tenant_network_type",
	"PHYSICAL_NETWORK":           "quantum.physical_network",
	"OVS_VLAN_RANGES":            "quantum.physical_network and quantum.vlan_range",
	"OVS_PHYSICAL_BRIDGE":        `quantum.agent "q-domua".physical_bridge`,
	"ENABLED_SERVICES":           "devstack.enabled_services (and base_services)",
	"DEVSTACK_REPO":              "devstack.repo",
	"DEVSTACK_BRANCH":            "devstack.branch",
}

// droppedSettings are xenrc switches for install_os_domU.sh's own flow that
// xenlab replaces; Import drops them with a warning saying why.
var droppedSettings = map[string]string{
	"DO_SHUTDOWN":      "xenlab shuts the previous domU down itself when it rebuilds it",
	"WAIT_TILL_LAUNCH": "xenlab always waits for stack.sh (see timeouts.stack)",
	"COPYENV":          "xenlab writes domU's localrc from the lab file",
	"TNAME":            "use domu.template",
	"SNAME_PREPARED":   "xenlab names its snapshots itself",
	"SNAME_FIRST_BOOT": "xenlab names its snapshots itself",
}
