package sshd

import "testing"

// BenchmarkExecRoundTrip is one command (a new session on a kept
// connection) from request to exit status.
func BenchmarkExecRoundTrip(b *testing.B) {
	for _, iso := range []Isolation{IsolationPaths, IsolationMountNS} {
		b.Run(string(iso), func(b *testing.B) {
			if err := probeMountNS(); iso == IsolationMountNS && err != nil {
				b.Skip(err)
			}
			h := startHost(b, iso, nil)
			c := h.rootClient(b)
			b.ResetTimer()
			for range b.N {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Run("true"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
