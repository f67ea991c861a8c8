package provision

import (
	"context"
	"fmt"
	"slices"
)

// outcome is how one node's work ended, as far as the walk is concerned.
type outcome int

const (
	outcomeOK       outcome = iota // successors may run
	outcomeFailed                  // successors are skipped
	outcomeCanceled                // the run was interrupted; nothing new starts
)

// walkFuncs are the callbacks of a walk.
type walkFuncs struct {
	// run does node i's work; it is called at most once per node, within
	// the walk's bounds.
	run func(ctx context.Context, i int) outcome
	// skip is called for a node that will not run because failed (which
	// ended in outcomeFailed) is one of its predecessors, transitively.
	skip func(i, failed int)
	// notStarted is called, after the walk, for nodes never started
	// because ctx was done.
	notStarted func(i int)
}

// bounds limit a walk: at most perHost nodes of one host group run at
// once, and at most hosts groups are at work at once (0: all). A group is
// at work from its first node's start until every one of its nodes has
// finished or been skipped; groups are admitted in graph order.
type bounds struct {
	perHost int
	hosts   int
}

// walk visits every node of g once all its predecessors succeeded: its
// dependencies, or with reverse its dependents. Ready nodes start in graph
// order, within b. A node that waits (a guest booting) holds a slot of its
// own host only. Once ctx is done no node starts; walk returns when the
// running ones have returned.
func (g *graph) walk(ctx context.Context, reverse bool, b bounds, f walkFuncs) {
	n := len(g.nodes)
	preds, succs := g.deps, g.dependents
	less := func(a, b int) bool { return g.pos[a] < g.pos[b] }
	if reverse {
		preds, succs = succs, preds
		less = func(a, b int) bool { return g.pos[a] > g.pos[b] }
	}
	perHost := max(b.perHost, 1)
	maxHosts := b.hosts
	if maxHosts < 1 || maxHosts > len(g.hosts) {
		maxHosts = len(g.hosts)
	}

	const (
		pending = iota
		running
		finished
		skipped
	)
	state := make([]int, n)
	waiting := make([]int, n)
	var ready []int
	for i := range n {
		waiting[i] = len(preds[i])
		if waiting[i] == 0 {
			ready = insertSorted(ready, i, less)
		}
	}
	// Per host group: nodes running, nodes not yet finished or skipped,
	// and whether the group holds one of the maxHosts slots.
	inGroup := make([]int, len(g.hosts))
	left := make([]int, len(g.hosts))
	admitted := make([]bool, len(g.hosts))
	active := 0
	for i := range n {
		left[g.host[i]]++
	}
	settle := func(i int) {
		h := g.host[i]
		if left[h]--; left[h] == 0 && admitted[h] {
			admitted[h] = false
			active--
		}
	}

	type result struct {
		i   int
		out outcome
	}
	results := make(chan result)
	inFlight := 0
	// skipFrom skips every node that depends, directly or not, on the
	// failed node i, in the walk's order (so the skipped events come in
	// step order).
	skipFrom := func(i, failed int) {
		var dependents []int
		var collect func(i int)
		collect = func(i int) {
			for _, s := range succs[i] {
				if state[s] == pending {
					state[s] = skipped
					dependents = append(dependents, s)
					collect(s)
				}
			}
		}
		collect(i)
		slices.SortFunc(dependents, func(a, b int) int {
			if less(a, b) {
				return -1
			}
			return 1
		})
		for _, s := range dependents {
			f.skip(s, failed)
			settle(s)
		}
	}
	// start launches the ready nodes the bounds allow, in graph order.
	start := func() {
		kept := ready[:0]
		for _, i := range ready {
			h := g.host[i]
			switch {
			case state[i] != pending:
				continue // skipped while it waited in the list
			case ctx.Err() != nil, inGroup[h] >= perHost, !admitted[h] && active >= maxHosts:
				kept = append(kept, i)
				continue
			}
			if !admitted[h] {
				admitted[h] = true
				active++
			}
			state[i] = running
			inGroup[h]++
			inFlight++
			go func() { results <- result{i, f.run(ctx, i)} }()
		}
		ready = kept
	}

	for {
		start()
		if inFlight == 0 {
			break
		}
		r := <-results
		inFlight--
		inGroup[g.host[r.i]]--
		state[r.i] = finished
		settle(r.i)
		switch r.out {
		case outcomeOK:
			for _, s := range succs[r.i] {
				waiting[s]--
				if waiting[s] == 0 && state[s] == pending {
					ready = insertSorted(ready, s, less)
				}
			}
		case outcomeFailed:
			skipFrom(r.i, r.i)
		}
	}
	for i := range n {
		if state[i] == pending {
			f.notStarted(i)
		}
	}
}

// recovered turns a panic in a step into an error, so that one broken step
// fails instead of taking the whole run (and the host's cleanup) down.
func recovered(step string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step %s panicked: %v", step, p)
		}
	}()
	return fn()
}
