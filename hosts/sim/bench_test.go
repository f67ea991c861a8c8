package sim

import (
	"context"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
	"xenlab/localrc"

	"path/filepath"
)

// BenchmarkDom0Command is one command over SSH on a simulated host's dom0
// (a new session on a kept connection, as xenlab's steps run them), from
// request to exit status: a shell builtin, and an ovs-vsctl call through
// the PATH tool (model switch).
func BenchmarkDom0Command(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := b.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
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
	for _, cmd := range []string{"true", "ovs-vsctl br-exists xenbr0"} {
		b.Run(cmd, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Run(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
