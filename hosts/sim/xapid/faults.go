package xapid

import (
	"slices"
	"sync"
)

// Faults makes the simulated xapi fail chosen calls the way a real host
// sometimes does, so tests prove what a client does then: the next N
// calls of a method fail with an error xapi sends, or lose their
// connection before or after the call is made. Its Fault method is an
// Options.Fault (sim.Options.Fault); the zero value injects nothing and is
// ready to use. It is safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	rules []*faultRule
	hits  map[string]int
}

// faultRule fails the next left calls of method.
type faultRule struct {
	method string
	left   int
	fault  Fault
}

// FailNext makes the next n calls of method (as on the wire: "VM.start",
// "Async.VM.clone") fail with xapi's ErrorDescription [code, params...],
// without being made. Rules for one method apply in the order given.
func (f *Faults) FailNext(method string, n int, code string, params ...string) {
	f.add(method, n, Fault{Code: code, Params: params})
}

// DropNext makes the connection of the next n calls of method close with
// no answer, before the call is made: a connection reset on the way in.
func (f *Faults) DropNext(method string, n int) {
	f.add(method, n, Fault{Drop: true})
}

// LoseNextAnswer makes the next n calls of method be made, then their
// connection close with no answer: the client cannot tell whether the
// call happened (it did).
func (f *Faults) LoseNextAnswer(method string, n int) {
	f.add(method, n, Fault{Drop: true, After: true})
}

func (f *Faults) add(method string, n int, fault Fault) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &faultRule{method: method, left: n, fault: fault})
}

// Fault is an Options.Fault: the injected failure for this call of
// method, if a rule has one left.
func (f *Faults) Fault(_ int64, method string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.rules, func(r *faultRule) bool { return r.method == method })
	if i < 0 {
		return nil
	}
	r := f.rules[i]
	if r.left--; r.left == 0 {
		f.rules = slices.Delete(f.rules, i, i+1)
	}
	if f.hits == nil {
		f.hits = map[string]int{}
	}
	f.hits[method]++
	fault := r.fault
	return &fault
}

// Injected is how many calls of method a fault was injected into.
func (f *Faults) Injected(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[method]
}

// Left is how many injections the rules still hold, for every method.
func (f *Faults) Left() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.rules {
		n += r.left
	}
	return n
}
