package xapid

import (
	"crypto/rand"
	"fmt"
)

// Seed describes the database of a freshly installed host: a pool of one
// host (not a pool member), its management PIF eth0 on xenbr0, a local SR,
// the control domain, an Ubuntu installer template and, unless disabled, a
// prebuilt devstack template that later runs clone in seconds.
type Seed struct {
	HostName       string // default "xenserver-sim"
	Address        string // management IP of eth0, default "127.0.0.1"
	ProductVersion string // default "6.2.0" (XenServer 6.2, API 2.0)
	NetworkBackend string // software_version network_backend, default "openvswitch"
	// NoDevstackTemplate leaves out jeos_template_for_devstack.
	NoDevstackTemplate bool
}

// Names of seeded objects.
const (
	ManagementNetworkName = "Pool-wide network associated with eth0"
	ManagementBridge      = "xenbr0"
	UbuntuTemplateName    = "Ubuntu Precise Pangolin 12.04 (64-bit)"
	DevstackTemplateName  = "jeos_template_for_devstack"
	// PrebuiltKey marks, in other_config, the templates the simulator
	// ships prebuilt rather than installed by a run.
	PrebuiltKey = "xenlab-sim-prebuilt"
)

func (sd Seed) withDefaults() Seed {
	if sd.HostName == "" {
		sd.HostName = "xenserver-sim"
	}
	if sd.Address == "" {
		sd.Address = "127.0.0.1"
	}
	if sd.ProductVersion == "" {
		sd.ProductVersion = "6.2.0"
	}
	if sd.NetworkBackend == "" {
		sd.NetworkBackend = "openvswitch"
	}
	return sd
}

// softwareVersion is host.software_version as XenServer 6.2 reports it.
func (sd Seed) softwareVersion() map[string]string {
	return map[string]string{
		"product_version": sd.ProductVersion, "product_version_text": "6.2", "product_version_text_short": "6.2",
		"platform_name": "XCP", "platform_version": "1.8.0", "product_brand": "XenServer",
		"build_number": "70446c", "hostname": sd.HostName, "date": "2013-06-14", "dbv": "2013.0621",
		"xapi": "1.3", "xen": "4.1.5", "linux": "2.6.32.43-0.4.1.xs1.8.0.835.170778xen",
		"xencenter_min": "2.0", "xencenter_max": "2.0", "network_backend": sd.NetworkBackend,
		"xs:main": "XenServer Pack, version " + sd.ProductVersion + ", build 70446c",
	}
}

// randomMAC returns a locally administered unicast MAC.
func randomMAC() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	b[0] = b[0]&0xfe | 0x02
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// seed fills an empty database.
func (s *Server) seed(sd Seed) {
	sd = sd.withDefaults()
	d := s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	host := d.insert("host", hostRecord(sd.HostName, sd.Address, sd.softwareVersion()))
	s.hostR = host.ref
	sr := d.insert("SR", srRecord("Local storage", host.ref))
	d.insert("pool", poolRecord(host.ref, sr.ref))
	mgmt := d.insert("network", networkRecord(ManagementNetworkName, ManagementBridge, true))
	d.insert("PIF", pifRecord("eth0", mgmt.ref, host.ref, randomMAC(), sd.Address, true))

	dom0 := vmRecord("Control domain on host: " + sd.HostName)
	dom0["is_control_domain"] = true
	dom0["power_state"] = "Running"
	dom0["domid"] = int64(0)
	dom0["resident_on"] = host.ref
	dom0["name_description"] = "The domain which manages physical devices and manages other domains"
	d.insert("VM", dom0)

	tpl := vmRecord(UbuntuTemplateName)
	tpl["is_a_template"] = true
	tpl["PV_bootloader"] = "eliloader"
	tpl["name_description"] = "Template that allows VM installation from Xen-aware Debian-based distros."
	tpl["other_config"] = map[string]string{
		"default_template": "true", "linux_template": "true", "install-methods": "cdrom,http,ftp",
		"install-distro": "debianlike", "debian-release": "precise", "install-arch": "amd64",
		"disks":    `<provision><disk device="0" size="8589934592" sr="" bootable="true" type="system"/></provision>`,
		"mac_seed": newUUID(),
	}
	d.insert("VM", tpl)

	if !sd.NoDevstackTemplate {
		jeos := vmRecord(DevstackTemplateName)
		jeos["is_a_template"] = true
		jeos["PV_bootloader"] = "pygrub"
		jeos["name_description"] = "Ubuntu 12.04 installed from the preseed (prebuilt by the simulator)"
		jeos["other_config"] = map[string]string{PrebuiltKey: "true", "mac_seed": newUUID()}
		vm := d.insert("VM", jeos)
		vdi := d.insert("VDI", vdiRecord("jeos root", sr.ref, 8<<30))
		d.insert("VBD", vbdRecord(vm.ref, vdi.ref, "0", true))
	}
}
