package devstack

import (
	"os"
	"os/exec"
)

// Unavailable says why the stand-in cannot run on this machine, or "" when
// it can: it runs in a guest's own root (/etc/neutron, /proc/cmdline),
// which needs root and the mount-namespace isolation; domU's `git clone`
// needs git; its rootwrap needs /usr/bin/python3 with Debian's XenAPI
// module (python3-os-xenapi). Tests that run the whole bring-up skip with
// this reason.
func Unavailable(isolation string) string {
	if os.Geteuid() != 0 || isolation != "mountns" {
		return "the devstack stand-in runs in a guest's own root (/etc/neutron, /proc/cmdline), which needs root"
	}
	if _, err := exec.LookPath("git"); err != nil {
		return "no git on this machine: domU's git clone of devstack needs it"
	}
	if err := exec.Command("/usr/bin/python3", "-c", "from os_xenapi.client import XenAPI").Run(); err != nil {
		return "no /usr/bin/python3 with Debian's XenAPI module (python3-os-xenapi): the stand-in's rootwrap needs it"
	}
	return ""
}
