package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// graph is the validated dependency graph of a list of steps. Node i is
// steps[i]; order is a topological order that keeps the input order wherever
// dependencies allow, so runs are deterministic.
type graph struct {
	steps      []Step
	names      []string
	deps       [][]int // deps[i]: the nodes i needs
	dependents [][]int // dependents[i]: the nodes that need i
	order      []int   // dependencies before dependents
	pos        []int   // pos[i]: i's index in order
	// host[i] is node i's host group: an index into hosts, the names of
	// the hosts (see [Hosted]) in the order their first step appears.
	// Steps that name no host share the group "". A graph of one group
	// is a single host's.
	host  []int
	hosts []string
}

// newGraph checks names and dependencies and orders the steps. Every problem
// found is reported, each naming the steps involved.
func newGraph(steps []Step) (*graph, error) {
	g := &graph{steps: steps, names: make([]string, len(steps))}
	index := make(map[string]int, len(steps))
	var errs []error
	for i, s := range steps {
		if s == nil {
			errs = append(errs, fmt.Errorf("step #%d is nil", i+1))
			continue
		}
		name := s.Name()
		g.names[i] = name
		switch prev, dup := index[name]; {
		case name == "":
			errs = append(errs, fmt.Errorf("step #%d (%T) has an empty name", i+1, s))
		case dup:
			errs = append(errs, fmt.Errorf("duplicate step name %q (steps #%d and #%d)", name, prev+1, i+1))
		default:
			index[name] = i
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid step graph: %w", errors.Join(errs...))
	}
	g.deps = make([][]int, len(steps))
	g.dependents = make([][]int, len(steps))
	for i, s := range steps {
		for _, d := range s.Deps() {
			j, ok := index[d]
			if !ok {
				errs = append(errs, fmt.Errorf("step %q depends on unknown step %q", g.names[i], d))
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
	g.groupHosts()
	for i := range steps {
		for _, j := range g.deps[i] {
			if g.host[i] != g.host[j] {
				errs = append(errs, fmt.Errorf("step %q (%s) depends on step %q (%s): a fleet's hosts are independent",
					g.names[i], g.hostLabel(i), g.names[j], g.hostLabel(j)))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid step graph: %w", errors.Join(errs...))
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, fmt.Errorf("invalid step graph: dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	g.order = g.topoOrder()
	g.pos = make([]int, len(steps))
	for p, i := range g.order {
		g.pos[i] = p
	}
	return g, nil
}

// groupHosts sorts the nodes into host groups (see graph.host).
func (g *graph) groupHosts() {
	g.host = make([]int, len(g.steps))
	index := map[string]int{}
	for i, s := range g.steps {
		name := hostOf(s)
		k, ok := index[name]
		if !ok {
			k = len(g.hosts)
			index[name] = k
			g.hosts = append(g.hosts, name)
		}
		g.host[i] = k
	}
}

// fleet reports whether the graph spans several hosts.
func (g *graph) fleet() bool { return len(g.hosts) > 1 }

// hostLabel names node i's host for errors.
func (g *graph) hostLabel(i int) string {
	if h := g.hosts[g.host[i]]; h != "" {
		return "host " + h
	}
	return "no host"
}

// findCycle returns the names along one dependency cycle, first name
// repeated at the end, or nil if there is none.
func (g *graph) findCycle() []string {
	const (
		unvisited = iota
		onStack
		finished
	)
	mark := make([]int, len(g.steps))
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
					cycle = append(cycle, g.names[n])
				}
				cycle = append(cycle, g.names[d])
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
	for i := range g.steps {
		if mark[i] == unvisited && visit(i) {
			return cycle
		}
	}
	return nil
}

// topoOrder is Kahn's algorithm, always taking the lowest-numbered ready
// step so the order follows the input list where it can.
func (g *graph) topoOrder() []int {
	waiting := make([]int, len(g.steps))
	var ready []int
	for i := range g.steps {
		waiting[i] = len(g.deps[i])
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]int, 0, len(g.steps))
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
