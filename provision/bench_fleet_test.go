package provision

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// benchWait is how long each step of BenchmarkFleet waits: a scaled-down
// guest boot or stack.sh, time the engine spends waiting, not working.
const benchWait = 20 * time.Millisecond

// BenchmarkFleet runs a fleet of 1, 4 and 16 hosts, each the shape of a
// bring-up: 6 steps that wait benchWait, two of them independent
// (preflight; networks and template; domu; boot; agents), with the
// default Parallel and MaxHosts. Each host's critical path is 5 waits, so
// one host takes about 5*benchWait, and so should a fleet of any size:
// compare ns/op across the sizes. It also reports the peak number of
// steps running at once.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			hosts := make([]string, n)
			for k := range hosts {
				hosts[k] = fmt.Sprintf("xs%02d", k+1)
			}
			var mu sync.Mutex
			running, peak := 0, 0
			for b.Loop() {
				l := fleetLab(hosts, "preflight", "networks:preflight", "template:preflight",
					"domu:networks,template", "boot:domu", "agents:boot")
				for _, s := range l.steps {
					s.apply = func(ctx context.Context, _ Output) error {
						mu.Lock()
						running++
						peak = max(peak, running)
						mu.Unlock()
						defer func() {
							mu.Lock()
							running--
							mu.Unlock()
						}()
						t := time.NewTimer(benchWait)
						defer t.Stop()
						select {
						case <-t.C:
							return nil
						case <-ctx.Done():
							return ctx.Err()
						}
					}
				}
				e, err := New(l.list, Options{Heartbeat: -1})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Apply(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak), "peak-steps")
		})
	}
}
