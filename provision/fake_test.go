package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// callLog records step calls ("apply:a", "destroy:b") in the order they
// happened.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// fakeStep keeps its "host state" in done: Check reads it, Apply sets it,
// Destroy clears it, like a real step reading xapi. Hooks replace the
// default behaviour of Apply and Destroy.
type fakeStep struct {
	name    string
	host    string // in the call log's entries only: the engine reads Node.Host
	deps    []string
	log     *callLog
	done    atomic.Bool
	apply   func(ctx context.Context, out Output) error
	destroy func(ctx context.Context, out Output) error
	check   func(ctx context.Context) (bool, error)
}

func (s *fakeStep) Name() string   { return s.name }
func (s *fakeStep) Deps() []string { return s.deps }

func (s *fakeStep) Check(ctx context.Context) (bool, error) {
	if s.check != nil {
		return s.check(ctx)
	}
	return s.done.Load(), nil
}

func (s *fakeStep) Apply(ctx context.Context, out Output) error {
	s.log.add("apply:" + Label(s.host, s.name))
	if s.apply != nil {
		if err := s.apply(ctx, out); err != nil {
			return err
		}
	}
	s.done.Store(true)
	return nil
}

func (s *fakeStep) Destroy(ctx context.Context, out Output) error {
	s.log.add("destroy:" + Label(s.host, s.name))
	if s.destroy != nil {
		if err := s.destroy(ctx, out); err != nil {
			return err
		}
	}
	s.done.Store(false)
	return nil
}

// lab builds fake steps from "name:dep1,dep2" specs sharing one log.
// steps has them by label ("<host>/<step>" in a fleet).
type lab struct {
	log   *callLog
	steps map[string]*fakeStep
	list  []Node
}

func newLab(specs ...string) *lab {
	l := &lab{log: &callLog{}, steps: map[string]*fakeStep{}}
	for _, spec := range specs {
		name, deps, _ := strings.Cut(spec, ":")
		s := &fakeStep{name: name, log: l.log}
		if deps != "" {
			s.deps = strings.Split(deps, ",")
		}
		l.steps[name] = s
		l.list = append(l.list, Node{Step: s})
	}
	return l
}

// recorder is a Renderer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
	onEv   func(Event)
	closed *Report
}

func (r *recorder) Event(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.onEv != nil {
		r.onEv(ev)
	}
}

func (r *recorder) Close(rep *Report) error {
	r.closed = rep
	return nil
}

func (r *recorder) kinds(step string) []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []EventKind
	for _, ev := range r.events {
		if ev.Label() == step {
			ks = append(ks, ev.Kind)
		}
	}
	return ks
}

func (r *recorder) find(step string, kind EventKind) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Label() == step && ev.Kind == kind {
			return ev, true
		}
	}
	return Event{}, false
}

// noDelay is a backoff that keeps tests fast.
func noDelay(int) time.Duration { return 0 }

func mustNew(t *testing.T, steps []Node, opts Options) *Engine {
	t.Helper()
	if opts.Backoff == nil {
		opts.Backoff = noDelay
	}
	e, err := New(steps, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func states(rep *Report) map[string]State {
	m := map[string]State{}
	for _, s := range rep.Steps {
		m[s.Label()] = s.State
	}
	return m
}

// waitOrFail waits for ch, failing the step (not hanging the test) after
// a generous bound.
func waitOrFail(ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("gave up waiting for %s", what)
	}
}
