// Package steps holds the lab's steps, one small file each, and the graphs
// the commands run: BringUp for `xenlab up`, `plan` and (through the
// engine's Destroy) `down`; Status for `xenlab status`. Every step
// implements provision.Step; they share the host's inventory
// (hosts.Host.Inventory) and find their objects by the ownership tag
// (owner.go), never by name.
package steps

import (
	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// Option changes the graph BringUp returns.
type Option func(*options)

type options struct {
	purgeTemplate bool
	views         *Views // KeepViews
}

// PurgeTemplate makes the graph's Destroy (xenlab down --purge-template)
// remove the lab's cached template too; without it the template stays
// for the next up.
func PurgeTemplate() Option { return func(o *options) { o.purgeTemplate = true } }

// BringUp returns the steps of `xenlab up` for one host, in dependency
// order; the engine's Destroy over them is `xenlab down`. Missing names
// the steps not built yet.
func BringUp(lab *localrc.Config, host *hosts.Host, opts ...Option) []provision.Step {
	var o options
	for _, f := range opts {
		f(&o)
	}
	ag := &agents{host: host, lab: lab} // verify shares its connection to domU
	return []provision.Step{
		&preflight{host: host, lab: lab},
		&dom0Plugins{host: host},
		&networks{host: host, lab: lab},
		&template{host: host, lab: lab, purge: o.purgeTemplate},
		&domu{host: host, lab: lab},
		&boot{host: host, lab: lab},
		&guestNetwork{host: host, lab: lab},
		&placeholder{host: host, lab: lab},
		ag,
		&verify{host: host, lab: lab, agents: ag, views: o.views},
		&snapshot{host: host, lab: lab, agents: ag, views: o.views},
	}
}

// Missing are the bring-up steps of DESIGN.md that are not built yet.
var Missing []string
