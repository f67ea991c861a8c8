package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/localrc"
)

type lines []string

func (l *lines) Line(format string, args ...any) {
	*l = append(*l, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func simLab(t testing.TB) (*sim.Host, *localrc.Config, *hosts.Host) {
	return simLabOVS(t, ovs.ModeModel)
}

// simLabOVS is simLab with a choice of dom0's switch: ovs.ModeAuto gives
// real Open vSwitch processes where they can run.
func simLabOVS(t testing.TB, mode ovs.Mode) (*sim.Host, *localrc.Config, *hosts.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: mode, Logf: t.Logf})
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
	return h, cfg, host
}

func TestPreflightPassesOnAFreshHost(t *testing.T) {
	_, cfg, host := simLab(t)
	var out lines
	p := &preflight{host: host, lab: cfg}
	if err := p.Apply(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(out, "\n")
	for _, want := range []string{"XenServer 6.2.0", "network backend openvswitch", "domU needs 4GiB", "domU needs 8GiB"} {
		if !strings.Contains(all, want) {
			t.Errorf("preflight output lacks %q:\n%s", want, all)
		}
	}
	// One SSH handshake however many checks, and a known number of XAPI
	// round trips (login, the inventory's event.from, host.compute_free_memory):
	// a new one shows up here rather than in seconds.
	if c := host.Counters(); c.SSHHandshakes != 1 || c.XAPIRoundTrips != 3 {
		t.Errorf("SSH handshakes %d (want 1), XAPI round trips %d (want 3)", c.SSHHandshakes, c.XAPIRoundTrips)
	}
}

func TestPreflightRefuses(t *testing.T) {
	t.Run("linux bridge backend in dom0", func(t *testing.T) {
		h, cfg, host := simLab(t)
		conf := filepath.Join(h.Dir(), "dom0", "fs", "etc", "xensource", "network.conf")
		if err := os.WriteFile(conf, []byte("bridge\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := (&preflight{host: host, lab: cfg}).Apply(context.Background(), &lines{})
		if err == nil || !strings.Contains(err.Error(), `network.conf says "bridge"`) {
			t.Fatalf("err = %v, want a refusal naming network.conf", err)
		}
	})
	t.Run("domU bigger than the host's memory", func(t *testing.T) {
		_, cfg, host := simLab(t)
		cfg.DomU.Memory = localrc.Size(1 << 40)
		err := (&preflight{host: host, lab: cfg}).Apply(context.Background(), &lines{})
		if err == nil || !strings.Contains(err.Error(), "domu.memory") {
			t.Fatalf("err = %v, want a refusal naming domu.memory", err)
		}
	})
	t.Run("domU bigger than the SR", func(t *testing.T) {
		_, cfg, host := simLab(t)
		cfg.DomU.Disk = localrc.Size(1 << 50)
		err := (&preflight{host: host, lab: cfg}).Apply(context.Background(), &lines{})
		if err == nil || !strings.Contains(err.Error(), "domu.disk") {
			t.Fatalf("err = %v, want a refusal naming domu.disk", err)
		}
	})
}
