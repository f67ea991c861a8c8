package ovs

import (
	"context"
	"os/exec"
	"testing"
)

func benchModes(b *testing.B, f func(b *testing.B, mode Mode)) {
	for _, mode := range []Mode{ModeModel, ModeReal} {
		b.Run(string(mode), func(b *testing.B) {
			if mode == ModeReal && RealAvailable() != nil {
				b.Skipf("needs real Open vSwitch: %v", RealAvailable())
			}
			f(b, mode)
		})
	}
}

// BenchmarkOpen measures starting and stopping one host's switch.
func BenchmarkOpen(b *testing.B) {
	benchModes(b, func(b *testing.B, mode Mode) {
		for i := 0; i < b.N; i++ {
			sw, err := Open(context.Background(), b.TempDir(), mode)
			if err != nil {
				b.Fatal(err)
			}
			if err := sw.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchSwitch(b *testing.B, mode Mode) Switch {
	sw, err := Open(context.Background(), b.TempDir(), mode)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sw.Close() })
	argv := []string{"ovs-vsctl", "add-br", "xapi1", "--", "add-port", "xapi1", "vif3.3", "--", "set", "Interface", "vif3.3", "type=internal"}
	if r, err := sw.Exec(context.Background(), argv, nil); err != nil || r.ExitCode != 0 {
		b.Fatalf("setup: %v %s", err, r.Stderr)
	}
	return sw
}

// BenchmarkExecSetTag measures one `ovs-vsctl set Port vif3.3 tag=4095`
// through Exec.
func BenchmarkExecSetTag(b *testing.B) {
	benchModes(b, func(b *testing.B, mode Mode) {
		sw := benchSwitch(b, mode)
		argv := []string{"ovs-vsctl", "set", "Port", "vif3.3", "tag=4095"}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if r, err := sw.Exec(context.Background(), argv, nil); err != nil || r.ExitCode != 0 {
				b.Fatalf("%v %s", err, r.Stderr)
			}
		}
	})
}

// BenchmarkBinDirTool measures the same command run by a shell through
// the BinDir front end (its start-up included).
func BenchmarkBinDirTool(b *testing.B) {
	benchModes(b, func(b *testing.B, mode Mode) {
		sw := benchSwitch(b, mode)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(sw.BinDir()+"/ovs-vsctl", "set", "Port", "vif3.3", "tag=4095")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}
