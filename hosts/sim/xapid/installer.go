package xapid

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// The modelled Debian installer run of a VM made from an installer
// template (UbuntuTemplateName), as devstack's tools/xen built its domU
// template (install_os_domU.sh, scripts/install_ubuntu_template.sh, havana):
// the VM's PV_bootloader is eliloader, which fetches the installer's kernel
// from other_config:install-repository and boots it with the VM's PV-args;
// "auto url=<dom0>/<file>" in those make the installer fetch its preseed
// from dom0's web server (/opt/xensource/www, served by xapi on port 80)
// and install unattended; the preseed's power-off at the end halts the VM.
// docs/simulator.md ("The installer run") says what is real and what is
// modelled.

// WebRoot is dom0's web root, which xapi serves over HTTP (a real
// XenServer serves /opt/xensource/www on port 80; devstack put its preseed
// there).
const WebRoot = "/opt/xensource/www"

// InstalledKey marks, in a VDI's other_config, a disk the modelled
// installer installed (its value names the release and architecture), so
// that snapshots and clones of it, and later boots, can tell.
const InstalledKey = "xenlab-sim-installed"

// InterfacesKey, beside InstalledKey in an installed disk's other_config,
// holds the /etc/network/interfaces the installer wrote into it (netcfg's
// answers: the installer's own static address, or DHCP): a guest booted
// from the disk, or from a clone of it, starts with that file.
const InterfacesKey = "xenlab-sim-interfaces"

// DefaultInstallTime is the modelled duration of an installer run when
// Options.InstallTime is zero (a real one takes many minutes; this is a
// model, not a measurement).
const DefaultInstallTime = 50 * time.Millisecond

// installState remembers, per VM uuid, why a modelled installer stopped.
type installState struct {
	mu      sync.Mutex
	stopped map[string]string
}

// InstallerStopped says why the modelled installer of the VM with that
// uuid stopped at a question (and so left the VM running), if it did: on a
// real host this is what the VM's console shows.
func (s *Server) InstallerStopped(vmUUID string) (string, bool) {
	s.installs.mu.Lock()
	defer s.installs.mu.Unlock()
	why, ok := s.installs.stopped[vmUUID]
	return why, ok
}

// installRun is what the installer needs from the VM record, read when it
// starts.
type installRun struct {
	ref, uuid, name string
	domid           int64
	pvArgs, repo    string
	afterReboot     string // actions_after_reboot
}

// installerOf tells whether starting vm boots eliloader with an
// install-repository (the installer) rather than the disk, and reads what the installer needs; the caller
// holds the db lock.
func (s *Server) installerOf(vm *object) (installRun, bool) {
	oc := vm.fields["other_config"].(map[string]string)
	// Without install-repository a real eliloader has nothing to boot; the
	// simulator then boots the VM as any other (its older tests and the
	// prebuilt shortcut rely on that), see docs/simulator.md.
	if vm.fields["PV_bootloader"] != "eliloader" || oc["install-repository"] == "" {
		return installRun{}, false
	}
	return installRun{ref: vm.ref, uuid: vm.fields["uuid"].(string), name: vm.fields["name_label"].(string),
		domid: vm.fields["domid"].(int64), pvArgs: vm.fields["PV_args"].(string), repo: oc["install-repository"],
		afterReboot: vm.fields["actions_after_reboot"].(string)}, true
}

// runInstaller models the installer in the background: after the
// modelled time it reads the preseed the VM was pointed at; a good one
// installs (the VM's disks are marked installed, the bootloader becomes
// pygrub as eliloader leaves it) and the VM halts, with the events of a
// guest's power-off; a bad one leaves the installer waiting at a question
// with the VM running, and the reason in the log and InstallerStopped.
func (s *Server) runInstaller(r installRun) {
	s.goBackground(func() {
		d := s.opts.InstallTime
		if d <= 0 {
			d = DefaultInstallTime
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		release, ifaces, err := s.install(r)
		if err != nil {
			s.installs.mu.Lock()
			if s.installs.stopped == nil {
				s.installs.stopped = map[string]string{}
			}
			s.installs.stopped[r.uuid] = err.Error()
			s.installs.mu.Unlock()
			s.logf("xapid: the installer of VM %s (%s) waits at a question: %v", r.name, r.uuid, err)
			return
		}
		s.powerOff(r, release, ifaces)
	})
}

// install checks what the real installer would need, in the order it
// needs it, and returns the release it installs and the
// /etc/network/interfaces it writes into the installed system.
func (s *Server) install(r installRun) (release, ifaces string, err error) {
	if r.repo == "" {
		return "", "", errors.New("eliloader: no other_config:install-repository to fetch the installer from")
	}
	repo, err := url.Parse(r.repo)
	if err != nil || repo.Scheme != "http" || repo.Host == "" {
		return "", "", fmt.Errorf("eliloader: install-repository %q is not an http:// URL", r.repo)
	}
	args := strings.Fields(r.pvArgs)
	var auto bool
	var preseedURL string
	for _, a := range args {
		switch {
		case a == "auto" || a == "auto=true" || a == "auto-install/enable=true":
			auto = true
		case strings.HasPrefix(a, "url="):
			preseedURL = strings.TrimPrefix(a, "url=")
		case strings.HasPrefix(a, "preseed/url="):
			preseedURL = strings.TrimPrefix(a, "preseed/url=")
		}
	}
	if !auto {
		return "", "", fmt.Errorf("PV-args %q have no \"auto\": the installer asks for the language first", r.pvArgs)
	}
	if preseedURL == "" {
		return "", "", fmt.Errorf("PV-args %q have no url=: no preseed, the installer asks every question", r.pvArgs)
	}
	data, err := s.fetchPreseed(preseedURL)
	if err != nil {
		return "", "", fmt.Errorf("failed to retrieve the preconfiguration file %s: %w", preseedURL, err)
	}
	answers := map[string]diAnswer{}
	if err := readPreseed("preseed "+preseedURL, data, answers); err != nil {
		return "", "", err
	}
	bootAnswers(args, answers)
	if err := checkAnswers(answers, repo); err != nil {
		return "", "", err
	}
	// The installer ends by powering off or halting when the preseed says
	// so, else by rebooting: then the VM's actions_after_reboot decides
	// (devstack's install-os-vpx.sh set it to destroy, so that the reboot
	// halted the VM, and back to restart afterwards).
	if answers["debian-installer/exit/poweroff"].val != "true" && answers["debian-installer/exit/halt"].val != "true" &&
		r.afterReboot != "destroy" {
		return "", "", fmt.Errorf("installed, then rebooted into the new system (no debian-installer/exit/poweroff "+
			"or exit/halt in the preseed, actions_after_reboot %s): the VM does not halt", r.afterReboot)
	}
	suite := answers["mirror/suite"].val
	if suite == "" {
		suite = "ubuntu"
	}
	return suite + " from " + r.repo, installedInterfaces(answers), nil
}

// fetchPreseed reads the preseed from dom0's web root: the URL (d-i adds
// http:// when it has no scheme, as in devstack's "${HOST_IP}/file") must
// name this host, as a guest on the management network reaches it.
func (s *Server) fetchPreseed(raw string) ([]byte, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("scheme %s: the modelled installer fetches http:// only", u.Scheme)
	}
	var addr, name string
	s.withDB(func() {
		if h, ok := s.db.objs[s.hostR]; ok {
			addr, _ = h.fields["address"].(string)
			name, _ = h.fields["hostname"].(string)
		}
	})
	if host := u.Hostname(); host != addr && host != name {
		return nil, fmt.Errorf("%s is not this host (%s): the model serves only dom0's web root", host, addr)
	}
	root, err := os.OpenRoot(s.host.Dom0Path(WebRoot))
	if err != nil {
		return nil, fmt.Errorf("404 Not Found (dom0 has no %s)", WebRoot)
	}
	defer root.Close()
	data, err := root.ReadFile(strings.TrimPrefix(path.Clean("/"+u.Path), "/"))
	if err != nil {
		return nil, fmt.Errorf("404 Not Found (%s%s)", WebRoot, path.Clean("/"+u.Path))
	}
	return data, nil
}

// powerOff ends a finished install: the guest powered off, so the VM
// halts as after a clean shutdown from inside (ports removed, Halted,
// domid -1), its disks now hold the installed system, and eliloader's
// one-off install boot is over (PV_bootloader pygrub, install-repository
// and the installer's PV-args gone). Nothing happens if the VM was shut
// down, restarted or destroyed meanwhile.
func (s *Server) powerOff(r installRun, release, ifaces string) {
	s.hostMu.Lock()
	defer s.hostMu.Unlock()
	c := &call{s: s, ctx: s.ctx}
	var h halting
	ok := false
	s.withDB(func() {
		vm, found := s.db.objs[r.ref]
		if !found || vm.fields["domid"] != r.domid || vm.fields["power_state"] != "Running" {
			return
		}
		ok = true
		h = halting{ref: vm.ref, uuid: r.uuid, key: "installer"}
		for _, v := range s.db.where("VIF", "VM", vm.ref) {
			if v.fields["currently_attached"] == true {
				h.ports = append(h.ports, s.vifPortOf(v, r.domid))
			}
		}
		oc := cloneMap(vm.fields["other_config"].(map[string]string))
		delete(oc, "install-repository")
		s.db.set(vm, map[string]any{"PV_bootloader": "pygrub", "PV_args": "", "other_config": oc})
		for _, b := range s.db.where("VBD", "VM", vm.ref) {
			if vdi, ok := s.db.objs[b.fields["VDI"].(string)]; ok && b.fields["bootable"] == true {
				voc := cloneMap(vdi.fields["other_config"].(map[string]string))
				voc[InstalledKey] = release
				voc[InterfacesKey] = ifaces
				s.db.set(vdi, map[string]any{"other_config": voc})
			}
		}
	})
	if ok {
		s.finishHalt(c, h)
	}
}

// serveWebRoot answers GET and HEAD requests for anything but xapi's
// XML-RPC paths from dom0's web root, as a real host's xapi serves
// /opt/xensource/www; it reports whether it answered.
func (s *Server) serveWebRoot(w http.ResponseWriter, r *http.Request) bool {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.URL.Path == "/" || r.URL.Path == "/RPC2" {
		return false
	}
	root, err := os.OpenRoot(s.host.Dom0Path(WebRoot))
	if err != nil {
		http.NotFound(w, r)
		return true
	}
	defer root.Close()
	http.FileServerFS(root.FS()).ServeHTTP(w, r)
	return true
}

// installedInterfaces is the /etc/network/interfaces the Debian installer
// (netcfg) writes into the installed system: the interface it installed
// through, static at the address it was given (netcfg/disable_autoconfig
// with get_ipaddress and get_netmask, as devstack's
// install_ubuntu_template.sh passed UBUNTU_INST_IP on the kernel command
// line), else by DHCP.
func installedInterfaces(answers map[string]diAnswer) string {
	dev := answers["netcfg/choose_interface"].val
	if dev == "" || dev == "auto" {
		dev = "eth0"
	}
	var b strings.Builder
	b.WriteString("# This file describes the network interfaces available on your system\n" +
		"# and how to activate them. For more information, see interfaces(5).\n\n" +
		"# The loopback network interface\nauto lo\niface lo inet loopback\n\n" +
		"# The primary network interface\nauto " + dev + "\n")
	ip, mask := answers["netcfg/get_ipaddress"].val, answers["netcfg/get_netmask"].val
	if answers["netcfg/disable_autoconfig"].val == "true" && ip != "" && mask != "" {
		b.WriteString("iface " + dev + " inet static\n\taddress " + ip + "\n\tnetmask " + mask + "\n")
	} else {
		b.WriteString("iface " + dev + " inet dhcp\n")
	}
	return b.String()
}
