package ssh

import (
	"context"
	"testing"
)

// BenchmarkRunOverOneConnection runs b.N commands over one connection and
// reports handshakes per command (1/N: the connection is reused).
func BenchmarkRunOverOneConnection(b *testing.B) {
	s := startSSHD(b, sshdOptions{})
	cfg := s.config(b)
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Run(context.Background(), "true"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Handshakes())/float64(b.N), "handshakes/op")
	b.ReportMetric(float64(c.Sessions())/float64(b.N), "sessions/op")
}

// BenchmarkRunNewConnectionEach is what devstack's scripts did (one ssh
// per command), for comparison.
func BenchmarkRunNewConnectionEach(b *testing.B) {
	s := startSSHD(b, sshdOptions{})
	cfg := s.config(b)
	var handshakes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := Dial(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Run(context.Background(), "true"); err != nil {
			b.Fatal(err)
		}
		handshakes += c.Handshakes()
		c.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(handshakes)/float64(b.N), "handshakes/op")
}
