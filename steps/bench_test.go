package steps

import (
	"context"
	"testing"

	"xenlab/hosts"
)

// BenchmarkPreflight measures one preflight with fresh connections, as one
// `xenlab up` makes them, against a simulated host: the XAPI round trips
// and SSH handshakes it costs are reported per run (counts, which unlike
// seconds do not depend on how busy the machine is).
func BenchmarkPreflight(b *testing.B) {
	_, cfg, shared := simLab(b)
	ctx := context.Background()
	var trips, shakes int64
	for b.Loop() {
		h := hosts.New(shared.Config, hosts.Options{})
		if err := (&preflight{host: h, lab: cfg}).Apply(ctx, &lines{}); err != nil {
			b.Fatal(err)
		}
		c := h.Counters()
		trips += c.XAPIRoundTrips
		shakes += c.SSHHandshakes
		h.Close(ctx)
	}
	b.ReportMetric(float64(trips)/float64(b.N), "xapi-roundtrips/op")
	b.ReportMetric(float64(shakes)/float64(b.N), "ssh-handshakes/op")
}
