// Package devstack is xenlab's devstack stand-in (not devstack): the small
// tree a guest of the simulated XenServer host gets from `git clone` of a
// devstack URL. Its stack.sh, unstack.sh and rejoin-stack.sh (bash, as
// devstack is) read the files a Havana devstack on XenServer reads in domU
// and do the Open vSwitch work of its two L2 agents: q-domua on domU's own
// switch, q-agt on dom0's through neutron-rootwrap-xen-dom0 (a python3
// helper here) and dom0's netwrap plugin. bin/nova-boot-standin boots an
// instance as nova's XenAPI driver left one. docs/simulator.md, "The
// devstack stand-in", documents what it reads and reproduces.
package devstack

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed git tree
var files embed.FS

// GitPath is where a guest finds the git that answers `git clone` of a
// devstack URL with the stand-in (first on the guest's PATH: the guest's
// own /usr/local/bin); any other git command runs this machine's git.
const GitPath = "/usr/local/bin/git"

// TreeDir is where the stand-in's tree lies in a guest; GitPath copies it
// into the clone's directory.
const TreeDir = "/usr/local/share/xenlab-devstack-standin"

// Marker is the file stack.sh writes last on success (DEST=/opt/stack).
const Marker = "/opt/stack/stack.sh.done"

// ResumeScript is what gives a resumed guest its agents' switch back (the
// simulator's model of a memory image, hosts/sim resumeGuest): the
// stand-in's standin-resume.sh, where install_os_domU.sh cloned devstack
// in domU. It rebuilds domU's switch only; dom0's was never suspended.
const ResumeScript = "/opt/stack/devstack/standin-resume.sh"

// GuestFiles are the files a simulated guest gets at boot (for
// sshd.Config.Skeleton): the git wrapper and the stand-in's tree, by
// absolute path in the guest.
func GuestFiles() map[string]string {
	out := map[string]string{}
	b, err := files.ReadFile("git")
	if err != nil {
		panic(err) // embedded
	}
	out[GitPath] = string(b)
	err = fs.WalkDir(files, "tree", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		out[path.Join(TreeDir, p[len("tree/"):])] = string(b)
		return nil
	})
	if err != nil {
		panic(err) // embedded
	}
	return out
}
