package templates

import (
	"encoding/base64"
	"strings"
)

// domU's SSH host key reaches the guest before its first boot through
// xenstore: xenlab puts base64 of the key's PEM into the VM's
// xenstore_data under HostKeyXenstoreKey (xapi writes vm-data/* into the
// domain's xenstore when the VM starts), and the template's first-boot job
// installs it as HostKeyFile before sshd starts, at every boot. The job is
// put into the template by the preseed's late_command (HostKeyLateCommand).
// The simulated guest (hosts/sim/guest.go) does what the job does.
const (
	// HostKeyXenstoreKey is the xenstore key the guest reads the key from.
	HostKeyXenstoreKey = "vm-data/ssh_host_ecdsa_key"
	// HostKeyFile is where the guest's sshd reads it: ECDSA, which the
	// OpenSSH of every era xenlab supports serves (Ubuntu 12.04's 5.9 has
	// no Ed25519), and which its default sshd_config names.
	HostKeyFile = "/etc/ssh/ssh_host_ecdsa_key"
	// HostKeyJobKey marks, in a template's other_config (and so in its
	// clones'), that its disk has the first-boot job: xenlab gives a host
	// key only to a domU cloned from such a template, since a guest
	// without the job would serve another key. xenlab marks the
	// templates it builds with its own preseed; a template of yours with
	// the job installed can be marked by hand (docs/templates.md).
	HostKeyJobKey = "xenlab-hostkey-job"
)

// hostKeyScript is /usr/local/sbin/xenlab-hostkey in the guest: it
// installs the key xapi passes in xenstore, if there is one, and keeps
// the image's own otherwise. xenstore-read comes with xenstore-utils (the
// preseed installs it); a PV guest reaches xenstore through xenfs.
const hostKeyScript = `#!/bin/sh
# xenlab: install the SSH host key xenlab gave this VM (xenstore
# ` + HostKeyXenstoreKey + `, base64 of its PEM) before sshd starts.
[ -e /proc/xen/xenbus ] || mount -t xenfs xenfs /proc/xen 2>/dev/null
v=$(xenstore-read ` + HostKeyXenstoreKey + ` 2>/dev/null) || exit 0
[ -n "$v" ] || exit 0
umask 077
printf '%s' "$v" | base64 -d > ` + HostKeyFile + `.new || exit 1
ssh-keygen -y -f ` + HostKeyFile + `.new > ` + HostKeyFile + `.pub.new || exit 1
mv ` + HostKeyFile + `.new ` + HostKeyFile + `
chmod 644 ` + HostKeyFile + `.pub.new && mv ` + HostKeyFile + `.pub.new ` + HostKeyFile + `.pub
`

// hostKeyUpstartJob runs the script before ssh starts (Ubuntu 12.04 boots
// with upstart; its ssh job is "ssh").
const hostKeyUpstartJob = `# xenlab: domU's SSH host key from xenstore, before sshd starts
start on starting ssh
task
exec /usr/local/sbin/xenlab-hostkey
`

// HostKeyLateCommand is the preseed's late_command that installs the
// first-boot job into the target: the script and the job go base64-encoded,
// so no quoting of theirs meets the shell's or debconf's.
func HostKeyLateCommand() string {
	return installJob("xenlab-hostkey", hostKeyScript, hostKeyUpstartJob)
}

// installJob is the late_command part that installs a first-boot job into
// the target: the script as /usr/local/sbin/<name> and its upstart job as
// /etc/init/<name>.conf, both base64-encoded, so no quoting of theirs
// meets the shell's or debconf's.
func installJob(name, script, job string) string {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return strings.Join([]string{
		"in-target sh -c 'echo " + b64(script) + " | base64 -d > /usr/local/sbin/" + name,
		"chmod 755 /usr/local/sbin/" + name,
		"echo " + b64(job) + " | base64 -d > /etc/init/" + name + ".conf'",
	}, " && ")
}
