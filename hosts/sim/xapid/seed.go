package xapid

import (
	"crypto/rand"
	"fmt"
	"xenlab/templates"
)

// Seed describes the database of a freshly installed host: a pool of one
// host (not a pool member), its management PIF eth0 on xenbr0, a local SR,
// the control domain, an Ubuntu installer template and, unless disabled, a
// prebuilt devstack template that later runs clone in seconds.
type Seed struct {
	HostName string // default "xenserver-sim"
	Address  string // management IP of eth0, default "127.0.0.1"
	// Version is the XenServer release the host poses as, by short name
	// ("6.2", "7.1", "8.2") or product version ("6.2.0"); "" is
	// DefaultRelease. See Releases.
	Version        string
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
	if sd.NetworkBackend == "" {
		sd.NetworkBackend = "openvswitch"
	}
	return sd
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
	host := d.insert("host", hostRecord(sd.HostName, sd.Address, nil))
	s.applyRelease(host, sd)
	s.hostR = host.ref
	sr := d.insert("SR", srRecord("Local storage"))
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
		// As xenlab's preseed builds it: with the first-boot jobs that
		// install the SSH host key and /etc/network/interfaces passed in
		// xenstore (templates/hostkey.go, templates/netjob.go).
		jeos["other_config"] = map[string]string{PrebuiltKey: "true", "mac_seed": newUUID(),
			templates.HostKeyJobKey:    templates.HostKeyXenstoreKey,
			templates.InterfacesJobKey: templates.InterfacesXenstoreKey}
		vm := d.insert("VM", jeos)
		vdi := d.insert("VDI", vdiRecord("jeos root", sr.ref, 8<<30))
		d.insert("VBD", vbdRecord(vm.ref, vdi.ref, "0", true))
	}
}

// applyRelease makes the host record report the chosen release: its
// software_version and API version. A database loaded from a host that
// posed as another release is upgraded (or downgraded) in place, as an
// installation of the new release over the old one would keep the pool
// database. The caller holds the db lock.
func (s *Server) applyRelease(host *object, sd Seed) {
	sd = sd.withDefaults()
	hostname, _ := host.fields["hostname"].(string)
	backend := sd.NetworkBackend
	if sv, ok := host.fields["software_version"].(map[string]string); ok && sv["network_backend"] != "" {
		backend = sv["network_backend"]
	}
	host.fields["software_version"] = s.release.softwareVersion(hostname, backend)
	host.fields["API_version_major"] = s.release.APIMajor
	host.fields["API_version_minor"] = s.release.APIMinor
}
