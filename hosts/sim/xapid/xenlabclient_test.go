package xapid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// TestXenlabClient drives xenlab's own client (hosts/xapi) against the
// simulator end to end, for the lab's methods and errors.
func TestXenlabClient(t *testing.T) {
	s, mh, _ := newTestServer(t, Options{AuthFailDelay: time.Millisecond})
	url := listen(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New("bad")})
	wantCode := func(err error, code string, params ...string) {
		t.Helper()
		var xe *xapi.Error
		if !errors.As(err, &xe) || xe.Code != code || (params != nil && !slices.Equal(xe.Params, params)) {
			t.Fatalf("got %v, want %s %q", err, code, params)
		}
	}
	wantCode(err, xapi.CodeSessionAuthenticationFailed, "root", "Authentication failure")

	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	hosts, err := c.HostGetAll(ctx)
	if err != nil || len(hosts) != 1 {
		t.Fatalf("hosts %v %v", hosts, err)
	}
	host := hosts[0]
	hrec, err := c.HostGetRecord(ctx, host)
	if err != nil || hrec.NetworkBackend() != "openvswitch" {
		t.Fatalf("host record %+v %v", hrec, err)
	}
	mgmtNet, pif, err := c.ManagementNetwork(ctx, host)
	if err != nil || !pif.Management {
		t.Fatalf("management network %v %+v %v", mgmtNet, pif, err)
	}
	if b, err := c.NetworkGetBridge(ctx, mgmtNet); err != nil || b != ManagementBridge {
		t.Fatalf("management bridge %q %v", b, err)
	}
	if sr, err := c.DefaultSR(ctx); err != nil || sr.IsNull() {
		t.Fatalf("default SR %v %v", sr, err)
	}

	nets := map[string]xapi.Ref{}
	for _, name := range []string{"OpenStack VM Network", "OpenStack Public Network", "OpenStack VM Integration Network"} {
		n, err := c.NetworkCreate(ctx, xapi.NetworkSpec{NameLabel: name, OtherConfig: map[string]string{"xenlab-lab": "t"}})
		if err != nil {
			t.Fatal(err)
		}
		nets[name] = n
	}
	intNet := nets["OpenStack VM Integration Network"]
	if b, _ := c.NetworkGetBridge(ctx, intNet); b != "xapi2" {
		t.Fatalf("integration bridge %q", b)
	}
	wantCode(c.NetworkAddToOtherConfig(ctx, intNet, "xenlab-lab", "x"), xapi.CodeMapDuplicateKey,
		"network", "other_config", string(intNet), "xenlab-lab")
	if err := c.NetworkAttach(ctx, intNet, host); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(mh.Bridges(), "xapi2") {
		t.Fatal("network.attach made no bridge")
	}

	tpl, err := c.VMGetByNameLabel(ctx, DevstackTemplateName)
	if err != nil || len(tpl) != 1 {
		t.Fatalf("devstack template %v %v", tpl, err)
	}
	res, err := c.RunAsync(ctx, "VM.clone", tpl[0], "DevStackOSDomU")
	if err != nil {
		t.Fatal(err)
	}
	vm := xapi.Ref(res.(string))
	if err := c.VMSetIsATemplate(ctx, vm, false); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetMemoryLimits(ctx, vm, 3<<30, 3<<30, 3<<30, 3<<30); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetVCPUs(ctx, vm, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.VMSetPVArgs(ctx, vm, "flat_network_bridge=xapi0 xen_integration_bridge=xapi2"); err != nil {
		t.Fatal(err)
	}
	if err := c.VMAddToOtherConfig(ctx, vm, "xenlab-lab", "t"); err != nil {
		t.Fatal(err)
	}
	devices := []xapi.Ref{mgmtNet, nets["OpenStack VM Network"], nets["OpenStack Public Network"]}
	var vifs []xapi.Ref
	for i, n := range devices {
		v, err := c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: n, Device: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		vifs = append(vifs, v)
	}
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmtNet, Device: "1"})
	wantCode(err, xapi.CodeDeviceAlreadyExists, "1")
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmtNet, Device: "eth3"})
	wantCode(err, xapi.CodeInvalidDevice, "eth3")
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vm, Network: mgmtNet, Device: "3", MAC: "nope"})
	wantCode(err, xapi.CodeMACInvalid, "nope")
	wantCode(c.VIFPlug(ctx, vifs[0]), xapi.CodeVMBadPowerState, string(vm), "running", "halted")

	snap, err := c.VMSnapshot(ctx, vm, "before_first_boot")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VMStart(ctx, vm, false, false); err != nil {
		t.Fatal(err)
	}
	wantCode(c.VMStart(ctx, vm, false, false), xapi.CodeVMBadPowerState, string(vm), "halted", "running")
	ip, err := c.WaitGuestIP(ctx, vm, "0")
	if err != nil {
		t.Fatal(err)
	}
	domid, err := c.VMGetDomid(ctx, vm)
	if err != nil || ip != fmt.Sprintf("10.0.0.%d", domid) {
		t.Fatalf("ip %q domid %d %v", ip, domid, err)
	}
	for i, bridge := range []string{ManagementBridge, "xapi0", "xapi1"} {
		ids, ok := mh.Port(bridge, fmt.Sprintf("vif%d.%d", domid, i))
		if !ok || ids["xs-vm-uuid"] == "" {
			t.Fatalf("port of device %d on %s: %v %v", i, bridge, ok, mh.Bridges())
		}
	}
	wantCode(c.NetworkDestroy(ctx, nets["OpenStack VM Network"]), xapi.CodeNetworkContainsVIF, string(vifs[1]))
	// VIFs are checked before PIFs, as in xapi_network.destroy.
	wantCode(c.NetworkDestroy(ctx, mgmtNet), xapi.CodeNetworkContainsVIF, string(vifs[0]))
	wantCode(c.VIFDestroy(ctx, vifs[2]), xapi.CodeOperationNotAllowed)
	if err := c.VIFUnplug(ctx, vifs[2]); err != nil {
		t.Fatal(err)
	}
	wantCode(c.VIFUnplug(ctx, vifs[2]), xapi.CodeDeviceAlreadyDetached, string(vifs[2]))
	if slices.Contains(mh.Bridges(), "xapi1") {
		t.Fatalf("unplugging the last VIF must remove the bridge: %v", mh.Bridges())
	}
	if err := c.VIFPlug(ctx, vifs[2]); err != nil {
		t.Fatal(err)
	}
	wantCode(c.VIFPlug(ctx, vifs[2]), xapi.CodeDeviceAlreadyAttached, string(vifs[2]))

	_, err = c.HostCallPlugin(ctx, host, "netwrap", "run_command", map[string]string{"cmd": `["true"]`})
	wantCode(err, xapi.CodeXenAPIMissingPlugin, "netwrap")

	// reset: revert to the snapshot (hard-shuts the running VM first).
	if err := c.VMRevert(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if ps, err := c.VMGetPowerState(ctx, vm); err != nil || ps != "Halted" {
		t.Fatalf("after revert %q %v", ps, err)
	}
	if !slices.Equal(mh.Bridges(), []string{"xapi2", ManagementBridge}) {
		t.Fatalf("bridges after revert %v", mh.Bridges())
	}
	// teardown
	wantCode(c.NetworkDestroy(ctx, mgmtNet), xapi.CodeNetworkContainsPIF, string(pifRef(t, c, host)))
	if err := c.VMDestroy(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := c.VMDestroy(ctx, vm); err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if err := c.NetworkDestroy(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.VMGetRecord(ctx, vm)
	wantCode(err, xapi.CodeHandleInvalid, "VM", string(vm))
	if c.RoundTrips() == 0 {
		t.Fatal("no round trips counted")
	}
}

func pifRef(t *testing.T, c *xapi.Client, host xapi.Ref) xapi.Ref {
	t.Helper()
	p, err := c.HostGetManagementInterface(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
