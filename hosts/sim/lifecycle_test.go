package sim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
)

// TestVIFReplugAndDestroy: a VIF unplugged and plugged again 20 times in a
// row comes back every time (its port and network device are created
// anew, as xapi and netback do), and a destroyed VM leaves no guest
// directory behind. With the model and, where it can run, real OVS.
func TestVIFReplugAndDestroy(t *testing.T) {
	forEachOVSMode(t, testVIFReplugAndDestroy)
}

func testVIFReplugAndDestroy(t *testing.T, mode ovs.Mode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, OVS: mode, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()
	c := dialXAPI(ctx, t, ep)
	defer c.Close(ctx)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	vm := newGuestVM(ctx, t, c, "replug")
	hosts, err := c.HostGetAll(ctx)
	must("hosts", err)
	mgmt, _, err := c.ManagementNetwork(ctx, hosts[0])
	must("management network", err)
	vif, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmt, Device: "0"})
	must("VIF.create", err)
	must("VM.start", c.VMStart(ctx, vm, false, false))
	if _, err := c.WaitGuestIP(ctx, vm, "0"); err != nil { // the guest has booted
		t.Fatal(err)
	}
	uuid := vmUUID(ctx, t, c, vm)
	guestDir := filepath.Join(dir, "guests", uuid)
	if _, err := os.Stat(guestDir); err != nil {
		t.Fatalf("the running guest has no directory: %v", err)
	}
	domid, err := c.VMGetDomid(ctx, vm)
	must("domid", err)
	port := "vif" + strconv.FormatInt(domid, 10) + ".0"
	ports := func() []string {
		t.Helper()
		res, err := h.dom0SW.Exec(ctx, []string{"ovs-vsctl", "list-ports", "xenbr0"}, nil)
		must("list-ports", err)
		return strings.Fields(string(res.Stdout))
	}
	for i := range 20 {
		must("VIF.unplug", c.VIFUnplug(ctx, vif))
		if slices.Contains(ports(), port) {
			t.Fatalf("round %d: %s still on xenbr0 after unplug", i, port)
		}
		if err := c.VIFPlug(ctx, vif); err != nil {
			t.Fatalf("round %d: VIF.plug after VIF.unplug: %v", i, err)
		}
		if !slices.Contains(ports(), port) {
			t.Fatalf("round %d: %s not on xenbr0 after plug: %v", i, port, ports())
		}
	}
	must("hard shutdown", c.VMHardShutdown(ctx, vm))
	must("destroy", c.VMDestroy(ctx, vm))
	if _, err := os.Stat(guestDir); !os.IsNotExist(err) {
		t.Fatalf("the destroyed VM's directory %s is still there (%v)", guestDir, err)
	}
}
