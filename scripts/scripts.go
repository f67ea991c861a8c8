// Package scripts embeds the files xenlab installs on the lab's hosts.
// Netwrap is the xapi plugin dom0's Open vSwitch agent runs its commands
// through (docs/netwrap.md).
package scripts

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

// Netwrap is the source of xenlab's netwrap plugin, installed as
// /etc/xapi.d/plugins/netwrap.
//
//go:embed netwrap
var Netwrap []byte

// NetwrapMarker is the line that marks a netwrap file as xenlab's, in
// every version xenlab ships: a file without it is someone else's (e.g.
// neutron's, from an earlier devstack) and xenlab leaves it alone.
const NetwrapMarker = "# xenlab-netwrap: installed by xenlab; `xenlab down` removes this file."

// NetwrapSHA256 is the hex SHA-256 of Netwrap.
func NetwrapSHA256() string {
	sum := sha256.Sum256(Netwrap)
	return hex.EncodeToString(sum[:])
}

// IsXenlabNetwrap reports whether content is a netwrap xenlab installed:
// one of its first lines is NetwrapMarker.
func IsXenlabNetwrap(content []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(content))
	for i := 0; i < 5 && sc.Scan(); i++ {
		if sc.Text() == NetwrapMarker {
			return true
		}
	}
	return false
}
