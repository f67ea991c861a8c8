package templates

// domU's /etc/network/interfaces reaches the guest before its first boot
// the way its SSH host key does (hostkey.go), as devstack's build_xva.sh
// wrote the file into domU's disk before it booted: xenlab puts base64 of
// the file into the VM's xenstore_data under InterfacesXenstoreKey, and
// the template's first-boot job installs it as /etc/network/interfaces
// before networking starts, at every boot, so domU's first boot already
// brings up the lab's addresses and no reboot is needed for them. The job
// is put into the template by the preseed's late_command
// (InterfacesLateCommand); the simulated guest does what it does.
const (
	// InterfacesXenstoreKey is the xenstore key the guest reads the file
	// from.
	InterfacesXenstoreKey = "vm-data/network_interfaces"
	// InterfacesJobKey marks, in a template's other_config (and so in its
	// clones'), that its disk has the job; its value is
	// InterfacesXenstoreKey. xenlab passes the file only to a domU with
	// the mark: without the job it would be ignored (and the guest-network
	// step writes the file over SSH and reboots domU instead). A template
	// of yours with the job installed can be marked by hand
	// (docs/templates.md).
	InterfacesJobKey = "xenlab-interfaces-job"
	// interfacesFile is ifupdown's configuration in the guest.
	interfacesFile = "/etc/network/interfaces"
)

// interfacesScript is /usr/local/sbin/xenlab-interfaces in the guest: it
// installs the file xapi passes in xenstore, if there is one (and it
// differs), and keeps the disk's own otherwise.
const interfacesScript = `#!/bin/sh
# xenlab: install the ` + interfacesFile + ` xenlab gave this VM (xenstore
# ` + InterfacesXenstoreKey + `, base64 of the file) before networking starts.
[ -e /proc/xen/xenbus ] || mount -t xenfs xenfs /proc/xen 2>/dev/null
v=$(xenstore-read ` + InterfacesXenstoreKey + ` 2>/dev/null) || exit 0
[ -n "$v" ] || exit 0
umask 022
printf '%s' "$v" | base64 -d > ` + interfacesFile + `.xenlab || { rm -f ` + interfacesFile + `.xenlab; exit 1; }
if cmp -s ` + interfacesFile + `.xenlab ` + interfacesFile + `; then
	rm -f ` + interfacesFile + `.xenlab
else
	mv ` + interfacesFile + `.xenlab ` + interfacesFile + `
fi
`

// interfacesUpstartJob runs the script before ifupdown's "networking" job
// (Ubuntu 12.04's, which runs ifup -a once the local file systems are
// mounted read-write) brings the interfaces up.
const interfacesUpstartJob = `# xenlab: domU's /etc/network/interfaces from xenstore, before networking starts
start on starting networking
task
exec /usr/local/sbin/xenlab-interfaces
`

// InterfacesLateCommand is the preseed's late_command part that installs
// the job into the target, base64-encoded as HostKeyLateCommand's.
func InterfacesLateCommand() string {
	return installJob("xenlab-interfaces", interfacesScript, interfacesUpstartJob)
}

// LateCommand is the preseed's late_command: both first-boot jobs.
func LateCommand() string { return HostKeyLateCommand() + " && " + InterfacesLateCommand() }
