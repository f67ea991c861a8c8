package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	sshc "xenlab/hosts/ssh"
)

// TestXenapiIPOnInDom0: the command line of devstack's Havana
// tools/xen/functions xenapi_ip_on (testdata/dom0-xe-lines.sh, ip_on) finds the management address of the host's
// own network on xenbr0, by bridge and by the network's name, through
// `ifconfig` in net-tools 1.60's format (XenServer 6.2's dom0). It needs
// the host's own network (root): without it dom0's network is this
// machine's, which has no xenbr0.
func TestXenapiIPOnInDom0(t *testing.T) {
	needOwnNetwork(t)
	fns, err := os.ReadFile(filepath.Join("testdata", "dom0-xe-lines.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{OVS: ovs.ModeReal, Version: "6.2", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dom0 := dialDom0(ctx, t, h.Endpoints())
	runIn(ctx, t, dom0, "cat > /root/functions", sshc.WithStdin(strings.NewReader(string(fns))))
	mgmt := h.hnet.Addr(1).String()
	for _, arg := range []string{"xenbr0", `"Pool-wide network associated with eth0"`} {
		if got := strings.TrimSpace(runIn(ctx, t, dom0, "bash -c '. /root/functions; ip_on "+arg+"'")); got != mgmt {
			t.Errorf("ip_on (xenapi_ip_on) %s: %q, want the management address %s", arg, got, mgmt)
		}
	}
	// The report it parses, as net-tools 1.60 prints it.
	out := runIn(ctx, t, dom0, "ifconfig xenbr0")
	if want := "          inet addr:" + mgmt + "  Bcast:" + h.hnet.Addr(255).String() + "  Mask:255.255.255.0\n"; !strings.HasPrefix(out, "xenbr0    Link encap:Ethernet  HWaddr ") ||
		!strings.Contains(out, want) {
		t.Errorf("ifconfig xenbr0 lacks %q:\n%s", want, out)
	}
}
