package steps

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/xapid"
	"xenlab/localrc"
	"xenlab/provision"
)

// simLabFault starts a simulated host whose xapi fails the calls fault
// answers with a fault (sim.Options.Fault).
func simLabFault(t *testing.T, fault func(n int64, method string) *xapid.Fault) (*localrc.Config, *hosts.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf, Fault: fault})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	cfg, err := localrc.Load(h.Endpoints().LabFile)
	if err != nil {
		t.Fatal(err)
	}
	host := hosts.New(cfg.Hosts[0], hosts.Options{})
	t.Cleanup(func() { host.Close(context.Background()) })
	return cfg, host
}

// retryRecorder keeps a run's retry events.
type retryRecorder struct {
	mu      sync.Mutex
	retries []provision.Event
}

func (r *retryRecorder) Event(ev provision.Event) {
	if ev.Kind == provision.EventRetry {
		r.mu.Lock()
		r.retries = append(r.retries, ev)
		r.mu.Unlock()
	}
}

func (r *retryRecorder) Close(*provision.Report) error { return nil }

// TestTransientXAPIFailuresAreRetried injects into the simulated host's
// xapi each failure xapi documents as worth trying again, and one it does
// not: a transient one is retried by the engine, with the step's attempts
// and backoff and a line in the step's output, and the bring-up passes; a
// permanent one (or a lost answer to a write, which may have been made)
// fails its step once, naming the call and the error.
func TestTransientXAPIFailuresAreRetried(t *testing.T) {
	t.Parallel() // a simulated host of its own
	tests := []struct {
		name   string
		inject func(f *xapid.Faults, domU string)
		step   string // the step the fault hits
		// The step's Apply attempts, and whether the run passes.
		attempts int
		pass     bool
		want     string // in the step's output (passing) or error (failing)
	}{
		{"another operation in progress, twice", func(f *xapid.Faults, _ string) {
			f.FailNext("VM.start", 2, xapid.ErrOtherOperationInProgress, "VM", "OpaqueRef:other", "clean_shutdown")
		}, "boot", 3, true, "OTHER_OPERATION_IN_PROGRESS"},
		{"bad power state during a transition", func(f *xapid.Faults, domU string) {
			// The error says domU was running; read right after, it is
			// halted: it was being shut down when the call came.
			f.FailNext("VM.start", 1, xapid.ErrVMBadPowerState, domU, "halted", "running")
		}, "boot", 2, true, "the VM was running and is halted now"},
		{"connection reset on a read", func(f *xapid.Faults, _ string) {
			// The inventory the first run read is still fresh: the first
			// event.from is boot's wait for domU's address.
			f.DropNext("event.from", 1)
		}, "boot", 2, true, "xapi event.from at "},
		{"permanent failure", func(f *xapid.Faults, _ string) {
			f.FailNext("VM.start", 1, xapid.ErrInternalError, "injected by the test")
		}, "boot", 1, false, "step boot: apply: xapi VM.start: INTERNAL_ERROR [injected by the test]"},
		{"lost answer to a write", func(f *xapid.Faults, _ string) {
			f.LoseNextAnswer("VM.start", 1)
		}, "boot", 1, false, "xapi VM.start at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var faults xapid.Faults
			cfg, host := simLabFault(t, faults.Fault)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Up to domU, so the fault can name it; boot and the rest after.
			var first, rest []provision.Node
			for _, n := range beforeAgents(cfg, host) {
				if n.Step.Name() == "boot" || len(rest) > 0 {
					rest = append(rest, n)
				} else {
					first = append(first, n)
				}
			}
			if rep := run(t, ctx, first, false); rep.Err != nil {
				t.Fatal(rep.Err)
			}
			inv, err := host.Inventory(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.inject(&faults, string(findDomU(inv, cfg.Lab)))
			rec := &retryRecorder{}
			var backoffs []int
			eng, err := provision.New(append(first, rest...), provision.Options{Parallel: 1, Renderer: rec, Backoff: func(attempt int) time.Duration {
				backoffs = append(backoffs, attempt)
				return 0
			}})
			if err != nil {
				t.Fatal(err)
			}
			rep, _ := eng.Apply(ctx)
			res, _ := rep.Step(tt.step)
			if faults.Left() != 0 {
				t.Fatalf("%d injections left: the fault never hit", faults.Left())
			}
			if res.Attempts != tt.attempts || (rep.Err == nil) != tt.pass {
				t.Fatalf("%s: %d attempts (want %d), run error %v (want pass %v)\n%s", tt.step, res.Attempts, tt.attempts, rep.Err, tt.pass, output(rep))
			}
			if tt.pass {
				if len(rec.retries) != tt.attempts-1 || len(backoffs) != tt.attempts-1 {
					t.Errorf("%d retry events and %d backoffs, want %d", len(rec.retries), len(backoffs), tt.attempts-1)
				}
				said := strings.Join(res.Output, "\n")
				if !strings.Contains(said, "transient failure, attempt 2 of 3") || !strings.Contains(said, tt.want) {
					t.Errorf("%s's output does not say it retried after %q:\n%s", tt.step, tt.want, said)
				}
				return
			}
			if len(rec.retries) != 0 || res.Err == nil || !strings.Contains(res.Err.Error(), tt.want) {
				t.Errorf("%s: %d retries, error %v; want none, and an error naming %q", tt.step, len(rec.retries), res.Err, tt.want)
			}
		})
	}
}
