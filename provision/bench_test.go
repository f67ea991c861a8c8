package provision

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplyLayered measures the engine's own overhead: 10 layers of 10
// steps, each depending on every step of the layer before, all no-ops.
func BenchmarkApplyLayered(b *testing.B) {
	var specs []string
	for layer := range 10 {
		for k := range 10 {
			spec := fmt.Sprintf("s%d_%d", layer, k)
			if layer > 0 {
				spec += ":"
				for j := range 10 {
					if j > 0 {
						spec += ","
					}
					spec += fmt.Sprintf("s%d_%d", layer-1, j)
				}
			}
			specs = append(specs, spec)
		}
	}
	for b.Loop() {
		l := newLab(specs...)
		e, err := New(l.list, Options{Heartbeat: -1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Apply(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
