package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// graph is the validated dependency graph of a list of nodes. Node i is
// nodes[i]; order is a topological order that keeps the input order
// wherever dependencies allow, so runs are deterministic.
type graph struct {
	nodes      []Node
	names      []string // names[i]: node i's step name, unique within its host
	deps       [][]int  // deps[i]: the nodes i needs
	dependents [][]int  // dependents[i]: the nodes that need i
	order      []int    // dependencies before dependents
	pos        []int    // pos[i]: i's index in order
	// host[i] is node i's host group: an index into hosts, the hosts'
	// names (Node.Host) in the order their first step appears. A graph of
	// one group is a single host's.
	host  []int
	hosts []string
}

// newGraph checks names and dependencies and orders the nodes. Every
// problem found is reported, each naming the steps (and hosts) involved.
func newGraph(nodes []Node) (*graph, error) {
	g := &graph{nodes: nodes, names: make([]string, len(nodes))}
	for i, n := range nodes {
		if n.Step == nil {
			return nil, fmt.Errorf("invalid step graph: step #%d is nil", i+1)
		}
		g.names[i] = n.Step.Name()
	}
	g.groupHosts()
	// index[h][name]: the node of that name on host group h.
	index := make([]map[string]int, len(g.hosts))
	for h := range index {
		index[h] = map[string]int{}
	}
	var errs []error
	for i, n := range nodes {
		name := g.names[i]
		switch prev, dup := index[g.host[i]][name]; {
		case name == "":
			errs = append(errs, fmt.Errorf("step #%d (%T%s) has an empty name", i+1, n.Step, g.onHost(i)))
		case dup:
			errs = append(errs, fmt.Errorf("duplicate step name %q%s (steps #%d and #%d)", name, g.onHost(i), prev+1, i+1))
		default:
			index[g.host[i]][name] = i
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid step graph: %w", errors.Join(errs...))
	}
	g.deps = make([][]int, len(nodes))
	g.dependents = make([][]int, len(nodes))
	for i, n := range nodes {
		for _, d := range n.Step.Deps() {
			j, ok := index[g.host[i]][d]
			if !ok {
				errs = append(errs, fmt.Errorf("step %q depends on unknown step %q%s", g.label(i), d, g.onHost(i)))
				continue
			}
			if slices.Contains(g.deps[i], j) {
				continue
			}
			g.deps[i] = append(g.deps[i], j)
			g.dependents[j] = append(g.dependents[j], i)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid step graph: %w", errors.Join(errs...))
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("invalid step graph: dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	g.order = g.topoOrder()
	g.pos = make([]int, len(nodes))
	for p, i := range g.order {
		g.pos[i] = p
	}
	return g, nil
}

// groupHosts sorts the nodes into host groups (see graph.host).
func (g *graph) groupHosts() {
	g.host = make([]int, len(g.nodes))
	index := map[string]int{}
	for i, n := range g.nodes {
		k, ok := index[n.Host]
		if !ok {
			k = len(g.hosts)
			index[n.Host] = k
			g.hosts = append(g.hosts, n.Host)
		}
		g.host[i] = k
	}
}

// label is node i as people are shown it: "<host>/<step>" in a fleet,
// the step's name otherwise (see [Label]).
func (g *graph) label(i int) string {
	if !g.fleet() {
		return g.names[i]
	}
	return Label(g.nodes[i].Host, g.names[i])
}

// onHost is " on host H" for node i's errors when it names a host.
func (g *graph) onHost(i int) string {
	if h := g.nodes[i].Host; h != "" {
		return " on host " + h
	}
	return ""
}

// fleet reports whether the graph spans several hosts.
func (g *graph) fleet() bool { return len(g.hosts) > 1 }

// findCycle returns the names along one dependency cycle, first name
// repeated at the end, or nil if there is none.
func (g *graph) findCycle() []string {
	const (
		unvisited = iota
		onStack
		finished
	)
	mark := make([]int, len(g.nodes))
	var stack []int
	var cycle []string
	var visit func(i int) bool
	visit = func(i int) bool {
		mark[i] = onStack
		stack = append(stack, i)
		for _, d := range g.deps[i] {
			switch mark[d] {
			case onStack:
				start := slices.Index(stack, d)
				for _, n := range stack[start:] {
					cycle = append(cycle, g.label(n))
				}
				cycle = append(cycle, g.label(d))
				return true
			case unvisited:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[i] = finished
		return false
	}
	for i := range g.nodes {
		if mark[i] == unvisited && visit(i) {
			return cycle
		}
	}
	return nil
}

// topoOrder is Kahn's algorithm, always taking the lowest-numbered ready
// step so the order follows the input list where it can.
func (g *graph) topoOrder() []int {
	waiting := make([]int, len(g.nodes))
	var ready []int
	for i := range g.nodes {
		waiting[i] = len(g.deps[i])
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]int, 0, len(g.nodes))
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, d := range g.dependents[i] {
			waiting[d]--
			if waiting[d] == 0 {
				ready = insertSorted(ready, d, func(a, b int) bool { return a < b })
			}
		}
	}
	return order
}

func insertSorted(s []int, v int, less func(a, b int) bool) []int {
	at := len(s)
	for k, x := range s {
		if less(v, x) {
			at = k
			break
		}
	}
	return slices.Insert(s, at, v)
}
