package localrc

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"xenlab/secret"
)

// networks checks the network names (distinct, non-empty) and how the
// integration bridge is forced.
func (v *validator) networks(raw *networksBlock) Networks {
	n := Networks{
		VM: raw.VM, Public: raw.Public, Integration: raw.Integration, Management: raw.Management, ManagementBridge: raw.ManagementBridge,
		IntegrationBridge: BridgeMode(raw.IntegrationBridge), ReuseExisting: raw.ReuseExisting,
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
	// devstack's MGT_BRIDGE_OR_NET_NAME was a bridge when dom0 had a bridge
	// of that name, a name-label otherwise; a lab file says which.
	v.check(raw.ManagementBridgeRange, func() {
		switch {
		case raw.ManagementBridge == "":
		case raw.Management != "":
			v.errorf(raw.ManagementBridgeRange, "networks.management_bridge", "give the management network either by name-label (management = %q) or by dom0 bridge (management_bridge), not both", raw.Management)
		case !bridgeRE.MatchString(raw.ManagementBridge):
			v.errorf(raw.ManagementBridgeRange, "networks.management_bridge", "%q is not a bridge name (1-15 letters, digits, '.', '_' or '-', as xenbr0)", raw.ManagementBridge)
		}
	})
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

// size parses a size attribute and enforces its minimum.
func (v *validator) size(s string, rng hcl.Range, field string, lowest Size) Size {
	sz, err := ParseSize(s)
	if err != nil {
		if n, ok := bareNumber(s); ok && bareSizeUnits[field].unit != "" {
			// A bare number is a localrc habit: say which unit devstack meant.
			u := bareSizeUnits[field]
			err = fmt.Errorf("%q has no unit; devstack's %s counts %s, so this is probably \"%s%s\"", s, u.setting, u.unit, n, u.unit)
		}
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

// nonEmpty reports an empty required string.
func (v *validator) nonEmpty(s string, rng hcl.Range, field, what string) {
	if s == "" {
		v.check(rng, func() { v.errorf(rng, field, "%s must not be empty", what) })
	}
}

// domu checks the guest: sizes, addresses, devices and the installer.
func (v *validator) domu(raw *domuBlock, mode BridgeMode) DomU {
	def := raw.DefRange
	d := DomU{
		Name: raw.Name, VCPUs: raw.VCPUs, Template: raw.Template, RebuildTemplate: raw.RebuildTemplate,
		TemplateFrom: raw.TemplateFrom, Password: secret.New(raw.Password), SSHUser: raw.SSHUser, SSHPort: raw.SSHPort,
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
	if d.TemplateFrom == "" {
		d.TemplateFrom = TemplateInstall
	}
	v.check(raw.TemplateFromRange, func() {
		if d.TemplateFrom != TemplateInstall && d.TemplateFrom != TemplateExisting {
			v.errorf(at(raw.TemplateFromRange, def), "domu.template_from", "template_from must be %q (build and cache the template) or %q (use domu.template as it is); got %q", TemplateInstall, TemplateExisting, raw.TemplateFrom)
		}
	})
	v.check(raw.RebuildRange, func() {
		if d.RebuildTemplate && d.TemplateFrom == TemplateExisting {
			v.errorf(at(raw.RebuildRange, def), "domu.rebuild_template", "rebuild_template = true rebuilds the lab's own template, "+
				"but template_from = %q uses %q as it is and never changes it; remove one of them", TemplateExisting, raw.Template)
		}
	})
	v.nonEmpty(raw.SSHUser, at(raw.SSHUserRange, def), "domu.ssh_user", "the stack user (STACK_USER)")
	v.check(raw.SSHPortRange, func() { v.port(raw.SSHPort, at(raw.SSHPortRange, def), "domu.ssh_port") })
	d.ManagementIP = v.ip(raw.ManagementIP, at(raw.ManagementIPRange, def), "domu.management_ip")
	d.VMIP = v.ip(raw.VMIP, at(raw.VMIPRange, def), "domu.vm_ip")
	d.PublicIP = v.ip(raw.PublicIP, at(raw.PublicIPRange, def), "domu.public_ip")
	d.Devices = v.devices(raw.Devices, mode)
	d.Ubuntu = v.ubuntu(raw.Ubuntu)
	return d
}

// devices checks VIF device numbers: in range and unique (the
// integration device only when a placeholder VIF is used).
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

// ubuntu checks the template installer settings.
func (v *validator) ubuntu(raw *ubuntuBlock) Ubuntu {
	def := raw.DefRange
	u := Ubuntu{Release: raw.Release, Arch: raw.Arch, MirrorHost: raw.MirrorHost, MirrorDir: raw.MirrorDir, Proxy: raw.Proxy, Preseed: raw.Preseed}
	v.check(raw.ReleaseRange, func() {
		if !validRelease(raw.Release) {
			v.errorf(at(raw.ReleaseRange, def), "domu.ubuntu.release", "release must be an Ubuntu code name in lower case such as \"precise\"; got %q", raw.Release)
		}
	})
	v.check(raw.ArchRange, func() {
		if !validArch(raw.Arch) {
			v.errorf(at(raw.ArchRange, def), "domu.ubuntu.arch", "arch must be \"amd64\" or \"i386\"; got %q", raw.Arch)
		}
	})
	v.check(raw.MirrorHostRange, func() {
		if !validMirrorHost(raw.MirrorHost) {
			v.errorf(at(raw.MirrorHostRange, def), "domu.ubuntu.mirror_host", "mirror_host must be a host name (with an optional :port) such as \"archive.ubuntu.com\"; got %q", raw.MirrorHost)
		}
	})
	v.check(raw.MirrorDirRange, func() {
		if !validMirrorDir(raw.MirrorDir) {
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

// The installer settings' rules, shared with Import so that what it writes
// is what validation accepts.
func validRelease(s string) bool    { return releaseRE.MatchString(s) }
func validArch(s string) bool       { return s == "amd64" || s == "i386" }
func validMirrorHost(s string) bool { return s != "" && !strings.ContainsAny(s, " /") }
func validMirrorDir(s string) bool  { return strings.HasPrefix(s, "/") }
