package devstack

import "os/exec"

// Unavailable says why the stand-in cannot run on this machine, or "" when
// it can: it runs in a guest's own root (/etc/neutron, /proc/cmdline),
// which is the simulated host's isolation "mountns" (as root, or, for a
// simulator that is not root, through unprivileged user namespaces and
// nsenter: sshd's userns.go); domU's `git clone` needs git; its rootwrap
// needs /usr/bin/python3 with Debian's XenAPI module (python3-os-xenapi).
// Tests that run the whole bring-up skip with this reason.
func Unavailable(isolation string) string {
	if isolation != "mountns" {
		return "the devstack stand-in runs in a guest's own root (/etc/neutron, /proc/cmdline), which the simulated host " +
			"gives its guests as root, or without root where unprivileged user namespaces and nsenter work (isolation " +
			isolation + " here)"
	}
	if _, err := exec.LookPath("git"); err != nil {
		return "no git on this machine: domU's git clone of devstack needs it"
	}
	if err := exec.Command("/usr/bin/python3", "-c", "from os_xenapi.client import XenAPI").Run(); err != nil {
		return "no /usr/bin/python3 with Debian's XenAPI module (python3-os-xenapi): the stand-in's rootwrap needs it"
	}
	return ""
}
