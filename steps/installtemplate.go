package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/templates"
)

// This file builds the cached domU template the way devstack's tools/xen
// did on first run (install_os_domU.sh and scripts/install_ubuntu_template.sh,
// havana): clone XenServer's Ubuntu installer template, point it at the
// archive (other_config:install-repository) and at a preseed served from
// dom0's web root (PV-args "auto url=<dom0>/<file>"), boot it so the Debian
// installer installs unattended and powers off, snapshot the result and
// clone the snapshot into the cached template. Unlike devstack it waits
// for the halt on xapi events, not `sleep 20` loops, tags everything it
// makes, and removes what it made when it fails.

// dom0WebRoot is where dom0's web server serves files from: xapi serves
// /opt/xensource/www on port 80, where devstack put its preseed.
const dom0WebRoot = "/opt/xensource/www"

// intermediateKey marks, in other_config beside the lab's tags, the
// objects that exist only while the template is built (the installer VM
// and the snapshot), so that teardown can tell them from the template.
const intermediateKey = "xenlab-intermediate"

// cleanupTimeout bounds the removal of a failed or cancelled build's
// objects, which runs even when ctx has ended.
const cleanupTimeout = 2 * time.Minute

// installTemplate builds the cached template and returns its ref; it
// carries tags in other_config and is named lab.DomU.Template.
func installTemplate(ctx context.Context, h *hosts.Host, lab *localrc.Config, tags map[string]string) (ref xapi.Ref, err error) {
	u := lab.DomU.Ubuntu
	preseed, err := preseedFor(lab)
	if err != nil {
		return "", err
	}
	c, err := h.XAPI(ctx)
	if err != nil {
		return "", err
	}
	b := &templateBuild{c: c, h: h, tags: tags}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.cleanup(ctx, true))
		} else if cerr := b.cleanup(ctx, false); cerr != nil {
			err = cerr
		}
	}()

	installer, err := findInstallerTemplate(ctx, c, u.Release, u.Arch)
	if err != nil {
		return "", err
	}
	hostRefs, err := c.HostGetAll(ctx)
	if err != nil {
		return "", err
	}
	if len(hostRefs) != 1 {
		return "", fmt.Errorf("xapi reports %d hosts, want 1 (a pool member cannot build the template)", len(hostRefs))
	}
	mgmtNet, pif, err := c.ManagementNetwork(ctx, hostRefs[0])
	if err != nil {
		return "", err
	}
	if pif.IP == "" {
		return "", fmt.Errorf("the management interface %s has no IP: the installer could not fetch its preseed", pif.Device)
	}

	// The installer VM: a clone of the installer template, tagged at once
	// so that a failure from here on leaves nothing untagged.
	vm, err := c.VMClone(ctx, installer, lab.DomU.Template+" (installing)")
	if err != nil {
		return "", fmt.Errorf("cloning the Ubuntu installer template: %w", err)
	}
	b.vms = append(b.vms, vm)
	if err := b.tag(ctx, vm, "installer-vm"); err != nil {
		return "", err
	}
	rec, err := c.VMGetRecord(ctx, vm)
	if err != nil {
		return "", err
	}
	file := "xenlab-preseed-" + rec.UUID + ".cfg"
	repo := "http://" + u.MirrorHost + u.MirrorDir
	disk := int64(lab.DomU.Disk)
	settings := []struct{ k, v string }{
		{"install-proxy", u.Proxy}, // only when set, as devstack
		{"install-methods", "http"},
		{"install-repository", repo},
		{"debian-release", u.Release},
		{"install-arch", u.Arch},
		{"disks", fmt.Sprintf(`<provision><disk device="0" size="%d" sr="" bootable="true" type="system"/></provision>`, disk)},
	}
	for _, s := range settings {
		if s.v == "" {
			continue
		}
		if _, ok := rec.OtherConfig[s.k]; ok {
			if err := c.VMRemoveFromOtherConfig(ctx, vm, s.k); err != nil {
				return "", err
			}
		}
		if err := c.VMAddToOtherConfig(ctx, vm, s.k, s.v); err != nil {
			return "", err
		}
	}
	url := pif.IP + "/" + file // d-i adds http://, as devstack's "${HOST_IP}/devstackubuntupreseed.cfg"
	if err := c.VMSetPVArgs(ctx, vm, installerPVArgs(lab, url)); err != nil {
		return "", err
	}
	if err := c.VMProvision(ctx, vm); err != nil {
		return "", fmt.Errorf("provisioning the installer VM's disk: %w", err)
	}
	if err := b.tagDisks(ctx, vm); err != nil {
		return "", err
	}
	if err := c.VMSetIsATemplate(ctx, vm, false); err != nil {
		return "", err
	}
	// The installer's memory is domU's (devstack's set_vm_memory), and its
	// final reboot halts the VM (devstack's install-os-vpx.sh:
	// actions-after-reboot=Destroy) even if the preseed does not power off.
	mem := int64(lab.DomU.Memory)
	if mem > 0 {
		if err := c.VMSetMemoryLimits(ctx, vm, min(rec.MemoryStaticMin, mem), mem, mem, mem); err != nil {
			return "", fmt.Errorf("setting the installer VM's memory: %w", err)
		}
	}
	if err := c.VMSetActionsAfterReboot(ctx, vm, "destroy"); err != nil {
		return "", err
	}
	if _, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmtNet, Device: "0", OtherConfig: tags}); err != nil {
		return "", fmt.Errorf("the installer VM's VIF on the management network: %w", err)
	}

	dom0, err := h.Dom0(ctx)
	if err != nil {
		return "", err
	}
	b.preseedPath = dom0WebRoot + "/" + file
	if _, err := dom0.UploadBytes(ctx, preseed, b.preseedPath, 0o644); err != nil {
		return "", fmt.Errorf("serving the preseed from dom0's %s: %w", dom0WebRoot, err)
	}

	if err := c.VMStart(ctx, vm, false, false); err != nil {
		return "", fmt.Errorf("starting the installer VM: %w", err)
	}
	if err := c.VMWaitHalted(ctx, vm); err != nil {
		return "", fmt.Errorf("waiting for the Ubuntu installer to halt VM %s (an unanswered installer question "+
			"stops it: look at the VM's console): %w", rec.UUID, err)
	}

	// Its guests must survive their own reboots (devstack set it back too).
	if err := c.VMSetActionsAfterReboot(ctx, vm, "restart"); err != nil {
		return "", err
	}
	snap, err := c.VMSnapshot(ctx, vm, lab.DomU.Template+" (installed)")
	if err != nil {
		return "", fmt.Errorf("snapshotting the installed VM: %w", err)
	}
	b.vms = append(b.vms, snap)
	if err := b.retag(ctx, snap, "snapshot"); err != nil {
		return "", err
	}
	tpl, err := c.VMClone(ctx, snap, lab.DomU.Template)
	if err != nil {
		return "", fmt.Errorf("cloning the snapshot into the template: %w", err)
	}
	b.vms = append(b.vms, tpl)
	if err := c.VMRemoveFromOtherConfig(ctx, tpl, intermediateKey); err != nil {
		return "", err
	}
	if lab.DomU.Ubuntu.Preseed == "" { // xenlab's preseed installed the first-boot jobs (hostkey.go, netjob.go)
		if err := c.VMAddToOtherConfig(ctx, tpl, templates.HostKeyJobKey, templates.HostKeyXenstoreKey); err != nil {
			return "", err
		}
		if err := c.VMAddToOtherConfig(ctx, tpl, templates.InterfacesJobKey, templates.InterfacesXenstoreKey); err != nil {
			return "", err
		}
	}
	if err := b.tagDisks(ctx, tpl); err != nil {
		return "", err
	}
	b.keep = tpl
	return tpl, nil
}

// preseedFor is the lab file's own preseed (checked) or xenlab's.
func preseedFor(lab *localrc.Config) ([]byte, error) {
	u := lab.DomU.Ubuntu
	if u.Preseed != "" {
		data := []byte(u.Preseed)
		if err := templates.CheckPreseed("the lab file's domu ubuntu preseed", data, u.MirrorHost, u.MirrorDir); err != nil {
			return nil, err
		}
		return data, nil
	}
	return templates.RenderPreseed(templates.Preseed{Release: u.Release, Arch: u.Arch,
		Hostname: hostLabel(lab.DomU.Name), Domain: "xenlab", MirrorHost: u.MirrorHost,
		MirrorDir: u.MirrorDir, Proxy: u.Proxy})
}

// installerPVArgs is the installer's kernel command line: the answers it
// needs before it can fetch the preseed (as devstack's
// install_ubuntu_template.sh passed them), "auto" and the preseed's URL.
func installerPVArgs(lab *localrc.Config, url string) string {
	u := lab.DomU.Ubuntu
	args := []string{"--", "quiet", "console=hvc0", "partman/default_filesystem=ext3",
		"console-setup/ask_detect=false", "locale=en_US", "keyboard-configuration/layoutcode=us",
		"netcfg/choose_interface=eth0", "netcfg/get_hostname=" + hostLabel(lab.DomU.Name),
		"netcfg/get_domain=xenlab", "auto", "url=" + url}
	if u.Proxy != "" {
		args = append(args, "mirror/http/proxy="+u.Proxy)
	}
	if !u.IP.DHCP && u.IP.Prefix.IsValid() {
		args = append(args, "netcfg/disable_autoconfig=true", "netcfg/get_ipaddress="+u.IP.Prefix.Addr().String(),
			"netcfg/get_netmask="+u.IP.Netmask(), "netcfg/confirm_static=true")
	}
	return strings.Join(args, " ")
}

// hostLabel makes a name a host name label (devstack's GUEST_NAME is
// DevStackOSDomU).
func hostLabel(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if s := strings.Trim(b.String(), "-"); s != "" {
		return s
	}
	return "domu"
}

// installerTemplateNames are XenServer's names of its Ubuntu installer
// templates by release and architecture (XenServer 6.x).
var installerTemplateNames = map[string]string{
	"precise/amd64": "Ubuntu Precise Pangolin 12.04 (64-bit)",
	"precise/i386":  "Ubuntu Precise Pangolin 12.04 (32-bit)",
	"lucid/amd64":   "Ubuntu Lucid Lynx 10.04 (64-bit)",
	"lucid/i386":    "Ubuntu Lucid Lynx 10.04 (32-bit)",
}

// debianSqueezeTemplate is the installer template devstack cloned
// (install_ubuntu_template.sh), setting its debian-release to the Ubuntu
// release: XenServer's Debian installer templates all boot eliloader.
const debianSqueezeTemplate = "Debian Squeeze 6.0 (32-bit)"

// findInstallerTemplate finds the installer template for release and
// arch: by XenServer's name for it, else the one template whose
// other_config:debian-release and install-arch say so, else, as devstack
// did, XenServer's Debian Squeeze template.
func findInstallerTemplate(ctx context.Context, c *xapi.Client, release, arch string) (xapi.Ref, error) {
	all, err := c.VMGetAllRecords(ctx)
	if err != nil {
		return "", err
	}
	name := installerTemplateNames[release+"/"+arch]
	var byName, byConfig []xapi.Ref
	for ref, r := range all {
		if !r.IsATemplate || r.IsASnapshot || r.PVBootloader != "eliloader" {
			continue
		}
		if name != "" && r.NameLabel == name {
			byName = append(byName, ref)
		}
		if r.OtherConfig["debian-release"] == release && r.OtherConfig["install-arch"] == arch {
			byConfig = append(byConfig, ref)
		}
	}
	var squeeze []xapi.Ref
	for ref, r := range all {
		if r.IsATemplate && !r.IsASnapshot && r.PVBootloader == "eliloader" && r.NameLabel == debianSqueezeTemplate {
			squeeze = append(squeeze, ref)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) == 0 && len(byConfig) == 1:
		return byConfig[0], nil
	case len(byName) == 0 && len(byConfig) == 0 && len(squeeze) == 1:
		// devstack's choice: its debian-release and install-arch are
		// rewritten for the clone.
		return squeeze[0], nil
	}
	return "", fmt.Errorf("no single Ubuntu installer template for %s %s on the host (%d named %q, %d with "+
		"other_config debian-release=%s install-arch=%s)", release, arch, len(byName), name, len(byConfig), release, arch)
}

// templateBuild is what a build made, for cleanup.
type templateBuild struct {
	c           *xapi.Client
	h           *hosts.Host
	tags        map[string]string
	vms         []xapi.Ref // in creation order
	keep        xapi.Ref   // the finished template
	preseedPath string
}

// tag adds the lab's tags and the intermediate role to a VM this build
// made (a clone of XenServer's template carries none of them).
func (b *templateBuild) tag(ctx context.Context, vm xapi.Ref, role string) error {
	for k, v := range b.tags {
		if err := b.c.VMAddToOtherConfig(ctx, vm, k, v); err != nil {
			return fmt.Errorf("tagging VM %s: %w", vm, err)
		}
	}
	return b.c.VMAddToOtherConfig(ctx, vm, intermediateKey, role)
}

// retag sets the intermediate role of a snapshot, which inherited the
// installer VM's other_config and so its tags.
func (b *templateBuild) retag(ctx context.Context, vm xapi.Ref, role string) error {
	if err := b.c.VMRemoveFromOtherConfig(ctx, vm, intermediateKey); err != nil {
		return err
	}
	return b.c.VMAddToOtherConfig(ctx, vm, intermediateKey, role)
}

// tagDisks tags the VDIs of vm that do not carry the tags yet.
func (b *templateBuild) tagDisks(ctx context.Context, vm xapi.Ref) error {
	for _, vdi := range b.disks(ctx, vm) {
		rec, err := b.c.VDIGetRecord(ctx, vdi)
		if err != nil {
			return err
		}
		for k, v := range b.tags {
			if _, ok := rec.OtherConfig[k]; ok {
				continue
			}
			if err := b.c.VDIAddToOtherConfig(ctx, vdi, k, v); err != nil {
				return fmt.Errorf("tagging disk %s: %w", vdi, err)
			}
		}
	}
	return nil
}

// disks are the VDIs of vm's disk VBDs (errors: none): a CD's VDI is an
// ISO of the host's, never the build's to tag or destroy.
func (b *templateBuild) disks(ctx context.Context, vm xapi.Ref) []xapi.Ref {
	rec, err := b.c.VMGetRecord(ctx, vm)
	if err != nil {
		return nil
	}
	var out []xapi.Ref
	for _, vbd := range rec.VBDs {
		if r, err := b.c.VBDGetRecord(ctx, vbd); err == nil && r.Type == "Disk" && r.VDI != xapi.NullRef && r.VDI != "" {
			out = append(out, r.VDI)
		}
	}
	return out
}

// cleanup removes the preseed from dom0's web root and the build's VMs
// with their disks, newest first, all but the finished template unless
// failed; it runs even when ctx has ended.
func (b *templateBuild) cleanup(ctx context.Context, failed bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var errs []error
	if b.preseedPath != "" {
		if dom0, err := b.h.Dom0(ctx); err == nil {
			if _, err := dom0.Run(ctx, "rm -f -- "+strconv.Quote(b.preseedPath)); err != nil {
				errs = append(errs, fmt.Errorf("removing the preseed %s from dom0: %w", b.preseedPath, err))
			}
		}
	}
	for i := len(b.vms) - 1; i >= 0; i-- {
		vm := b.vms[i]
		if vm == b.keep && !failed {
			continue
		}
		rec, disks, err := liveDisks(ctx, b.c, vm)
		if xapi.HasCode(err, "HANDLE_INVALID") {
			continue // gone already
		}
		if err == nil {
			err = removeVM(ctx, b.c, vm, rec, disks)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing VM %s: %w", vm, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up the template build: %w", errors.Join(errs...))
	}
	return nil
}
