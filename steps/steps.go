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
// order; the engine's Destroy over them is `xenlab down`. Each node is on
// the host (the engine names it in the step's errors and reports) and
// carries what the engine needs besides: the agents step's time limit is
// the lab's timeouts.stack, preflight and verify only read.
func BringUp(lab *localrc.Config, host *hosts.Host, opts ...Option) []provision.Node {
	var o options
	for _, f := range opts {
		f(&o)
	}
	on := host.Name()
	return []provision.Node{
		{Step: &preflight{host: host, lab: lab}, Host: on, ReadOnly: true},
		{Step: &dom0Plugins{host: host}, Host: on},
		{Step: &networks{host: host, lab: lab}, Host: on},
		{Step: &template{host: host, lab: lab, purge: o.purgeTemplate}, Host: on},
		{Step: &domu{host: host, lab: lab}, Host: on},
		{Step: &boot{host: host, lab: lab}, Host: on},
		{Step: &guestNetwork{host: host, lab: lab}, Host: on},
		{Step: &placeholder{host: host, lab: lab}, Host: on},
		{Step: &agents{host: host, lab: lab}, Host: on, Timeout: stackTimeout(lab)},
		{Step: &verify{host: host, lab: lab, views: o.views}, Host: on, ReadOnly: true},
		{Step: &snapshot{host: host, lab: lab, views: o.views}, Host: on},
	}
}
