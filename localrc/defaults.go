package localrc

// Devstack's defaults (xenrc and stackrc, Havana era) and xenlab's own, as
// raw lab-file values. They pre-fill the decode targets, so an attribute that
// is not written keeps its default and goes through the same validation.
const (
	DefaultXAPIUser       = "root"                             // XENAPI_USER
	DefaultSSHUser        = "root"                             // dom0's user
	DefaultSSHPort        = 22                                 //
	DefaultKnownHosts     = "~/.ssh/known_hosts"               //
	DefaultVMNetwork      = "OpenStack VM Network"             // VM_BRIDGE_OR_NET_NAME
	DefaultPublicNetwork  = "OpenStack Public Network"         // PUB_BRIDGE_OR_NET_NAME
	DefaultIntNetwork     = "OpenStack VM Integration Network" // XEN_INT_BRIDGE_OR_NET_NAME
	DefaultGuestName      = "DevStackOSDomU"                   // GUEST_NAME
	DefaultMemory         = "4GiB"                             // OSDOMU_MEM_MB=4096 (devstack from Dec 2013; 3072 before)
	DefaultVCPUs          = 2                                  //
	DefaultDisk           = "8GiB"                             // OSDOMU_VDI_GB=8
	DefaultTemplate       = "jeos_template_for_devstack"       // devstack's TNAME
	DefaultGuestPassword  = "secrete"                          // GUEST_PASSWORD
	DefaultStackUser      = "stack"                            // STACK_USER
	DefaultMgtIP          = "dhcp"                             // MGT_IP
	DefaultVMIP           = "10.255.255.255/24"                // VM_IP, VM_NETMASK=255.255.255.0
	DefaultPubIP          = "172.24.4.10/24"                   // PUB_IP, PUB_NETMASK=255.255.255.0
	DefaultUbuntuRelease  = "precise"                          // UBUNTU_INST_RELEASE
	DefaultUbuntuArch     = "amd64"                            // UBUNTU_INST_ARCH
	DefaultMirrorHost     = "archive.ubuntu.com"               // UBUNTU_INST_HTTP_HOSTNAME
	DefaultMirrorDir      = "/ubuntu"                          // UBUNTU_INST_HTTP_DIRECTORY
	DefaultPlugin         = "openvswitch"                      // Q_PLUGIN
	DefaultTenantType     = "vlan"                             // ENABLE_TENANT_VLANS=True
	DefaultPhysnet        = "physnet1"                         // OVS_VLAN_RANGES=physnet1:1000:1024
	DefaultVLANRange      = "1000:1024"                        //
	DefaultDevstackRepo   = "https://opendev.org/openstack/devstack"
	DefaultDevstackBranch = "havana-eol" // the tag Havana's stable branch became
	DefaultStepTimeout    = "20m"
	DefaultStackTimeout   = "60m"
	DefaultBootTimeout    = "10m"
)

// DefaultEnabledServices is the ENABLED_SERVICES+= line of a Quantum on
// XenServer localrc.
var DefaultEnabledServices = []string{"quantum", "q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua", "-n-net"}

func defaultHost() hostBlock {
	return hostBlock{
		XAPIUser:   DefaultXAPIUser,
		SSHUser:    DefaultSSHUser,
		SSHPort:    DefaultSSHPort,
		KnownHosts: DefaultKnownHosts,
	}
}

func defaultFile() fileSchema {
	return fileSchema{
		Networks: &networksBlock{
			VM:                DefaultVMNetwork,
			Public:            DefaultPublicNetwork,
			Integration:       DefaultIntNetwork,
			IntegrationBridge: string(BridgePlaceholder),
		},
		DomU: &domuBlock{
			Name:         DefaultGuestName,
			Memory:       DefaultMemory,
			VCPUs:        DefaultVCPUs,
			Disk:         DefaultDisk,
			XVDB:         "0",
			Template:     DefaultTemplate,
			Password:     DefaultGuestPassword,
			SSHUser:      DefaultStackUser,
			SSHPort:      22,
			ManagementIP: DefaultMgtIP,
			VMIP:         DefaultVMIP,
			PublicIP:     DefaultPubIP,
			Devices:      &devicesBlock{Management: 0, VM: 1, Public: 2, Integration: 3},
			Ubuntu: &ubuntuBlock{
				Release:    DefaultUbuntuRelease,
				Arch:       DefaultUbuntuArch,
				MirrorHost: DefaultMirrorHost,
				MirrorDir:  DefaultMirrorDir,
				IP:         "dhcp",
			},
		},
		Quantum: &quantumBlock{
			Plugin:            DefaultPlugin,
			PhysicalNetwork:   DefaultPhysnet,
			VLANRange:         DefaultVLANRange,
			TenantNetworkType: DefaultTenantType,
		},
		Devstack: &devstackBlock{
			Repo:            DefaultDevstackRepo,
			Branch:          DefaultDevstackBranch,
			EnabledServices: append([]string(nil), DefaultEnabledServices...),
		},
		Timeouts: &timeoutsBlock{Step: DefaultStepTimeout, Stack: DefaultStackTimeout, Boot: DefaultBootTimeout},
	}
}

// defaultAgent returns an agent's defaults: q-agt's bridges are learnt from
// xapi at run time, q-domua's are devstack's br-int / br-eth1 / eth1.
func defaultAgent(name string) agentBlock {
	if name == AgentDomU {
		return agentBlock{IntegrationBridge: "br-int", PhysicalBridge: "br-eth1", PhysicalInterface: "eth1"}
	}
	return agentBlock{}
}
