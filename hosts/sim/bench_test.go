package sim

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/localrc"
)

// BenchmarkDom0Command is one command over SSH on a simulated host's dom0
// (a new session on a kept connection, as xenlab's steps run them), from
// request to exit status, with each switch: a shell builtin; an ovs-vsctl
// call, which the simulator carries out itself (sshd.Builtin: no shell,
// no front end); and the same through the shell (then the tool's front
// end runs). cpu-ns/op is the CPU time of this process and of the
// processes it started, per command.
//
// With the real switch, "local" runs /bin/true and the real ovs-vsctl on
// dom0's switch straight from this process, with no SSH and no shell:
// the floor under what any front end can reach, since over a connection a
// switch command costs at least the real tool's own run more than a true.
func BenchmarkDom0Command(b *testing.B) {
	for _, mode := range []ovs.Mode{ovs.ModeModel, ovs.ModeReal} {
		b.Run(string(mode), func(b *testing.B) {
			if mode == ovs.ModeReal && ovs.RealAvailable() != nil {
				b.Skip(ovs.RealAvailable())
			}
			benchDom0Commands(b, mode)
		})
	}
}

func benchDom0Commands(b *testing.B, mode ovs.Mode) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := b.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: mode, Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	cfg, err := localrc.Load(filepath.Join(dir, "lab.hcl"))
	if err != nil {
		b.Fatal(err)
	}
	hc := cfg.Hosts[0]
	c, err := sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: hc.SSHAddr(), User: hc.SSHUser,
		KeyFiles: []string{hc.SSHKey}, KnownHosts: []string{hc.KnownHosts}, Keepalive: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"true", "ovs-vsctl br-exists xenbr0", "ovs-vsctl br-exists xenbr0 && true"} {
		b.Run(cmd, func(b *testing.B) {
			cpu0 := cpuUsed()
			for b.Loop() {
				if _, err := c.Run(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuUsed()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
	if mode != ovs.ModeReal {
		return
	}
	runDir := h.dom0SW.ToolDirs()[1]
	for _, argv := range [][]string{{"/bin/true"}, {ovsVsctl(b), "--db=unix:" + filepath.Join(runDir, "db.sock"), "br-exists", "xenbr0"}} {
		b.Run("local/"+filepath.Base(argv[0]), func(b *testing.B) {
			cpu0 := cpuUsed()
			for b.Loop() {
				cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
				cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "OVS_RUNDIR=" + runDir}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", argv, err, out)
				}
			}
			b.ReportMetric(float64(cpuUsed()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func ovsVsctl(b *testing.B) string {
	p, err := exec.LookPath("ovs-vsctl")
	if err != nil {
		b.Skip("no ovs-vsctl on PATH:", err)
	}
	return p
}

// cpuUsed is the CPU time of this process and of its children that ended.
func cpuUsed() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		_ = syscall.Getrusage(who, &ru)
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return total
}
