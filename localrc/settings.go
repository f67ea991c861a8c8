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
	"NETINSTALLIP":               "domu.ubuntu.ip",
	"VM_BRIDGE_OR_NET_NAME":      "networks.vm",
	"PUB_BRIDGE_OR_NET_NAME":     "networks.public",
	"XEN_INT_BRIDGE_OR_NET_NAME": "networks.integration",
	"MGT_BRIDGE_OR_NET_NAME":     "networks.management or networks.management_bridge",
	"ML2_VLAN_RANGES":            "quantum.physical_network and quantum.vlan_range",
	"TENANT_VLAN_RANGE":          "quantum.vlan_range",
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

	// dom0-side settings of install_os_domU.sh and
	// scripts/install_ubuntu_template.sh (devstack grizzly-eol to
	// icehouse-eol): they configure dom0 or the Ubuntu install, never
	// domU's devstack, so they are not passed through.
	"NOVA_ZIPBALL_URL":               "dom0-side: install_os_domU.sh took nova's dom0 plugins from this zip; xenlab installs the dom0 plugins itself (step dom0-plugins)",
	"NEUTRON_ZIPBALL_URL":            "dom0-side: install_os_domU.sh took neutron's dom0 plugin from this zip; xenlab installs netwrap itself (step dom0-plugins)",
	"UBUNTU_INST_IFACE":              "dom0-side: the Ubuntu installer's interface (netcfg/choose_interface); xenlab's preseed chooses it; a preseed of your own goes in domu.ubuntu.preseed",
	"UBUNTU_INST_NAMESERVERS":        "dom0-side: name servers of a static Ubuntu install; xenlab has no field for them: put them in a preseed of your own (domu.ubuntu.preseed)",
	"UBUNTU_INST_GATEWAY":            "dom0-side: gateway of a static Ubuntu install; xenlab has no field for it: put it in a preseed of your own (domu.ubuntu.preseed)",
	"UBUNTU_INST_TEMPLATE_NAME":      "dom0-side: the name of the Ubuntu install template; xenlab names its own (the template domU is built from is domu.template)",
	"UBUNTU_INST_LOCALE":             "dom0-side: the Ubuntu installer's locale; put it in a preseed of your own (domu.ubuntu.preseed)",
	"UBUNTU_INST_KEYBOARD":           "dom0-side: the Ubuntu installer's keyboard layout; put it in a preseed of your own (domu.ubuntu.preseed)",
	"UBUNTU_INST_BRIDGE_OR_NET_NAME": "dom0-side: the network the Ubuntu install runs on; xenlab installs on the management network (networks.management)",
	"VDI_MB":                         "dom0-side: xenrc's old image size, unused by install_os_domU.sh since Grizzly; domU's disk is domu.disk (OSDOMU_VDI_GB)",
}
