package steps

import (
	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// Fleet returns the bring-up of every host of a lab as one graph: each
// host's BringUp, whose nodes are on that host. The engine reads the host
// from the nodes: it brings the hosts up in parallel, each with its own
// bound, names the host in each step's errors and reports each host on
// its own. Nothing here wraps or renames a step.
func Fleet(lab *localrc.Config, hs []*hosts.Host, opts ...Option) []provision.Node {
	return fleetOf(hs, func(h *hosts.Host) []provision.Node { return BringUp(lab, h, opts...) })
}

// ResetFleet returns the reset of every host of a lab as one graph.
func ResetFleet(lab *localrc.Config, hs []*hosts.Host) []provision.Node {
	return fleetOf(hs, func(h *hosts.Host) []provision.Node { return Reset(lab, h) })
}

// fleetOf joins each host's graph into one.
func fleetOf(hs []*hosts.Host, graph func(*hosts.Host) []provision.Node) []provision.Node {
	var all []provision.Node
	for _, h := range hs {
		all = append(all, graph(h)...)
	}
	return all
}
