package provision

import (
	"context"
	"fmt"
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
	// run does node i's work; it is called at most once per node, with at
	// most `parallel` calls at a time.
	run func(ctx context.Context, i int) outcome
	// skip is called for a node that will not run because failed (which
	// ended in outcomeFailed) is one of its predecessors, transitively.
	skip func(i, failed int)
	// notStarted is called, after the walk, for nodes never started
	// because ctx was done.
	notStarted func(i int)
}

// walk visits every node of g once all its predecessors succeeded: its
// dependencies, or with reverse its dependents. Ready nodes start in graph
// order, up to parallel at a time. Once ctx is done no node starts; walk
// returns when the running ones have returned.
func (g *graph) walk(ctx context.Context, reverse bool, parallel int, f walkFuncs) {
	n := len(g.steps)
	preds, succs := g.deps, g.dependents
	less := func(a, b int) bool { return g.pos[a] < g.pos[b] }
	if reverse {
		preds, succs = succs, preds
		less = func(a, b int) bool { return g.pos[a] > g.pos[b] }
	}
	if parallel < 1 {
		parallel = 1
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

	type result struct {
		i   int
		out outcome
	}
	results := make(chan result)
	inFlight := 0
	var skipFrom func(i, failed int)
	skipFrom = func(i, failed int) {
		for _, s := range succs[i] {
			if state[s] == pending {
				state[s] = skipped
				f.skip(s, failed)
				skipFrom(s, failed)
			}
		}
	}

	for {
		for inFlight < parallel && len(ready) > 0 && ctx.Err() == nil {
			i := ready[0]
			ready = ready[1:]
			if state[i] != pending {
				continue
			}
			state[i] = running
			inFlight++
			go func() { results <- result{i, f.run(ctx, i)} }()
		}
		if inFlight == 0 {
			break
		}
		r := <-results
		inFlight--
		state[r.i] = finished
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
