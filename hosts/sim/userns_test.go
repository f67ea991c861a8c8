package sim

import (
	"context"
	"os"
	"testing"
	"time"

	"xenlab/hosts/sim/internal/unprivtest"
	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/sim/sshd"
	sshc "xenlab/hosts/ssh"
)

// TestWithoutRoot: a simulator that is not root gives dom0 a root of its
// own (sshd's user namespaces), so dom0 has its /etc/xapi.d/plugins, as
// `xenlab up` needs, and its commands run as uid 0 there. Run as root
// (CI), it runs again as an unprivileged user, with the confinement and
// guest-facts tests, which must pass there, not skip.
func TestWithoutRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		unprivtest.Rerun(t, []string{"TestWithoutRoot", "TestDom0CannotTouchThisMachine", "TestGuestReadsItsFactsWhereADomUDoes"})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()
	if ep.Isolation != string(sshd.IsolationMountNS) {
		if unprivtest.Required() {
			t.Fatalf("isolation %s: user namespaces work here, yet dom0 has no root of its own", ep.Isolation)
		}
		t.Skipf("isolation %s: no user namespaces here", ep.Isolation)
	}
	dom0, err := sshc.Dial(ctx, sshc.Config{Host: "dom0", Addr: ep.Dom0SSH, User: "root",
		KeyFiles: []string{ep.SSHKey}, KnownHosts: []string{ep.KnownHosts}, Keepalive: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer dom0.Close()
	res, err := dom0.Run(ctx, "id -u; hostname; test -d /etc/xapi.d/plugins && echo plugins; cat /etc/xensource/network.conf")
	if err != nil {
		t.Fatalf("%v: %s", err, res.Stderr)
	}
	if got, want := string(res.Stdout), "0\n"+dom0Hostname+"\nplugins\nopenvswitch\n"; got != want {
		t.Errorf("dom0 printed %q, want %q", got, want)
	}
}
