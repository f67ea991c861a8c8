// Package steps holds the lab's steps, one small file each, and the graphs
// the commands run: BringUp for `xenlab up` and `plan`. Every step
// implements provision.Step.
package steps

import (
	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// BringUp returns the steps of `xenlab up` for one host, in dependency
// order. Only preflight is built so far; Missing names the rest.
func BringUp(lab *localrc.Config, host *hosts.Host) []provision.Step {
	return []provision.Step{
		&preflight{host: host, lab: lab},
	}
}

// Missing are the bring-up steps of DESIGN.md that are not built yet.
var Missing = []string{"dom0-plugins", "networks", "template", "domU", "boot",
	"bridge-placeholder", "agents", "verify", "snapshot"}
