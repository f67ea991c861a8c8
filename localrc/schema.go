package localrc

import "github.com/hashicorp/hcl/v2"

// The structs below are the lab file as gohcl decodes it. Optional
// attributes keep the default they were pre-filled with when absent; the
// *_range fields let validation point at the attribute (or, when the
// attribute was not written, at its block).

type fileSchema struct {
	Lab      string         `hcl:"lab"`
	Hosts    []hostHeader   `hcl:"host,block"`
	Networks *networksBlock `hcl:"networks,block"`
	DomU     *domuBlock     `hcl:"domu,block"`
	Quantum  *quantumBlock  `hcl:"quantum,block"`
	Devstack *devstackBlock `hcl:"devstack,block"`
	Timeouts *timeoutsBlock `hcl:"timeouts,block"`

	LabRange hcl.Range `hcl:"lab,attr_value_range"`
}

// hostHeader captures a host block's label and body; the body is decoded
// into a hostBlock pre-filled with defaults, one per block.
type hostHeader struct {
	Name       string    `hcl:"name,label"`
	Body       hcl.Body  `hcl:",remain"`
	DefRange   hcl.Range `hcl:",def_range"`
	LabelRange hcl.Range `hcl:"name,label_range"`
}

type hostBlock struct {
	XAPIURL         string `hcl:"xapi_url"`
	XAPIUser        string `hcl:"xapi_user,optional"`
	XAPIPassword    string `hcl:"xapi_password"`
	XAPIFingerprint string `hcl:"xapi_fingerprint,optional"`
	SSHHost         string `hcl:"ssh_host,optional"`
	SSHUser         string `hcl:"ssh_user,optional"`
	SSHPort         int    `hcl:"ssh_port,optional"`
	SSHKey          string `hcl:"ssh_key,optional"`
	SSHPassword     string `hcl:"ssh_password,optional"`
	KnownHosts      string `hcl:"known_hosts,optional"`

	XAPIURLRange         hcl.Range `hcl:"xapi_url,attr_value_range"`
	XAPIUserRange        hcl.Range `hcl:"xapi_user,attr_value_range"`
	XAPIPasswordRange    hcl.Range `hcl:"xapi_password,attr_value_range"`
	SSHPasswordRange     hcl.Range `hcl:"ssh_password,attr_value_range"`
	XAPIFingerprintRange hcl.Range `hcl:"xapi_fingerprint,attr_value_range"`
	SSHHostRange         hcl.Range `hcl:"ssh_host,attr_value_range"`
	SSHUserRange         hcl.Range `hcl:"ssh_user,attr_value_range"`
	SSHPortRange         hcl.Range `hcl:"ssh_port,attr_value_range"`
}

type networksBlock struct {
	VM                string `hcl:"vm,optional"`
	Public            string `hcl:"public,optional"`
	Integration       string `hcl:"integration,optional"`
	Management        string `hcl:"management,optional"`
	ManagementBridge  string `hcl:"management_bridge,optional"`
	IntegrationBridge string `hcl:"integration_bridge,optional"`
	ReuseExisting     bool   `hcl:"reuse_existing,optional"`

	DefRange               hcl.Range `hcl:",def_range"`
	VMRange                hcl.Range `hcl:"vm,attr_value_range"`
	PublicRange            hcl.Range `hcl:"public,attr_value_range"`
	IntegrationRange       hcl.Range `hcl:"integration,attr_value_range"`
	ManagementRange        hcl.Range `hcl:"management,attr_value_range"`
	ManagementBridgeRange  hcl.Range `hcl:"management_bridge,attr_value_range"`
	IntegrationBridgeRange hcl.Range `hcl:"integration_bridge,attr_value_range"`
}

type domuBlock struct {
	Name            string        `hcl:"name,optional"`
	Memory          string        `hcl:"memory,optional"`
	VCPUs           int           `hcl:"vcpus,optional"`
	Disk            string        `hcl:"disk,optional"`
	XVDB            string        `hcl:"xvdb_size,optional"`
	Template        string        `hcl:"template,optional"`
	RebuildTemplate bool          `hcl:"rebuild_template,optional"`
	TemplateFrom    string        `hcl:"template_from,optional"`
	Password        string        `hcl:"password,optional"`
	SSHUser         string        `hcl:"ssh_user,optional"`
	SSHPort         int           `hcl:"ssh_port,optional"`
	ManagementIP    string        `hcl:"management_ip,optional"`
	VMIP            string        `hcl:"vm_ip,optional"`
	PublicIP        string        `hcl:"public_ip,optional"`
	Devices         *devicesBlock `hcl:"devices,block"`
	Ubuntu          *ubuntuBlock  `hcl:"ubuntu,block"`

	DefRange          hcl.Range `hcl:",def_range"`
	NameRange         hcl.Range `hcl:"name,attr_value_range"`
	MemoryRange       hcl.Range `hcl:"memory,attr_value_range"`
	VCPUsRange        hcl.Range `hcl:"vcpus,attr_value_range"`
	DiskRange         hcl.Range `hcl:"disk,attr_value_range"`
	XVDBRange         hcl.Range `hcl:"xvdb_size,attr_value_range"`
	TemplateRange     hcl.Range `hcl:"template,attr_value_range"`
	TemplateFromRange hcl.Range `hcl:"template_from,attr_value_range"`
	RebuildRange      hcl.Range `hcl:"rebuild_template,attr_value_range"`
	SSHUserRange      hcl.Range `hcl:"ssh_user,attr_value_range"`
	SSHPortRange      hcl.Range `hcl:"ssh_port,attr_value_range"`
	PasswordRange     hcl.Range `hcl:"password,attr_value_range"`
	ManagementIPRange hcl.Range `hcl:"management_ip,attr_value_range"`
	VMIPRange         hcl.Range `hcl:"vm_ip,attr_value_range"`
	PublicIPRange     hcl.Range `hcl:"public_ip,attr_value_range"`
}

type devicesBlock struct {
	Management  int `hcl:"management,optional"`
	VM          int `hcl:"vm,optional"`
	Public      int `hcl:"public,optional"`
	Integration int `hcl:"integration,optional"`

	DefRange         hcl.Range `hcl:",def_range"`
	ManagementRange  hcl.Range `hcl:"management,attr_value_range"`
	VMRange          hcl.Range `hcl:"vm,attr_value_range"`
	PublicRange      hcl.Range `hcl:"public,attr_value_range"`
	IntegrationRange hcl.Range `hcl:"integration,attr_value_range"`
}

type ubuntuBlock struct {
	Release    string `hcl:"release,optional"`
	Arch       string `hcl:"arch,optional"`
	MirrorHost string `hcl:"mirror_host,optional"`
	MirrorDir  string `hcl:"mirror_dir,optional"`
	Proxy      string `hcl:"proxy,optional"`
	IP         string `hcl:"ip,optional"`
	Preseed    string `hcl:"preseed,optional"`

	DefRange        hcl.Range `hcl:",def_range"`
	ReleaseRange    hcl.Range `hcl:"release,attr_value_range"`
	ArchRange       hcl.Range `hcl:"arch,attr_value_range"`
	MirrorHostRange hcl.Range `hcl:"mirror_host,attr_value_range"`
	MirrorDirRange  hcl.Range `hcl:"mirror_dir,attr_value_range"`
	ProxyRange      hcl.Range `hcl:"proxy,attr_value_range"`
	IPRange         hcl.Range `hcl:"ip,attr_value_range"`
}

type quantumBlock struct {
	Plugin            string        `hcl:"plugin,optional"`
	PhysicalNetwork   string        `hcl:"physical_network,optional"`
	VLANRange         string        `hcl:"vlan_range,optional"`
	TenantNetworkType string        `hcl:"tenant_network_type,optional"`
	Agents            []agentHeader `hcl:"agent,block"`

	DefRange               hcl.Range `hcl:",def_range"`
	PluginRange            hcl.Range `hcl:"plugin,attr_value_range"`
	PhysicalNetworkRange   hcl.Range `hcl:"physical_network,attr_value_range"`
	VLANRangeRange         hcl.Range `hcl:"vlan_range,attr_value_range"`
	TenantNetworkTypeRange hcl.Range `hcl:"tenant_network_type,attr_value_range"`
}

type agentHeader struct {
	Name       string    `hcl:"name,label"`
	Body       hcl.Body  `hcl:",remain"`
	DefRange   hcl.Range `hcl:",def_range"`
	LabelRange hcl.Range `hcl:"name,label_range"`
}

type agentBlock struct {
	IntegrationBridge string `hcl:"integration_bridge,optional"`
	PhysicalBridge    string `hcl:"physical_bridge,optional"`
	PhysicalInterface string `hcl:"physical_interface,optional"`

	IntegrationBridgeRange hcl.Range `hcl:"integration_bridge,attr_value_range"`
	PhysicalBridgeRange    hcl.Range `hcl:"physical_bridge,attr_value_range"`
	PhysicalInterfaceRange hcl.Range `hcl:"physical_interface,attr_value_range"`
}

type devstackBlock struct {
	Repo            string         `hcl:"repo,optional"`
	Branch          string         `hcl:"branch,optional"`
	Source          string         `hcl:"source,optional"`
	BaseServices    *[]string      `hcl:"base_services,optional"`
	EnabledServices []string       `hcl:"enabled_services,optional"`
	Extra           hcl.Expression `hcl:"extra,optional"`

	DefRange             hcl.Range `hcl:",def_range"`
	RepoRange            hcl.Range `hcl:"repo,attr_value_range"`
	BranchRange          hcl.Range `hcl:"branch,attr_value_range"`
	SourceRange          hcl.Range `hcl:"source,attr_value_range"`
	BaseServicesRange    hcl.Range `hcl:"base_services,attr_value_range"`
	EnabledServicesRange hcl.Range `hcl:"enabled_services,attr_value_range"`
}

type timeoutsBlock struct {
	Step  string `hcl:"step,optional"`
	Stack string `hcl:"stack,optional"`
	Boot  string `hcl:"boot,optional"`

	DefRange   hcl.Range `hcl:",def_range"`
	StepRange  hcl.Range `hcl:"step,attr_value_range"`
	StackRange hcl.Range `hcl:"stack,attr_value_range"`
	BootRange  hcl.Range `hcl:"boot,attr_value_range"`
}
