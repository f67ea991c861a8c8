package xapid

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	xenapi "github.com/terra-farm/go-xen-api-client"
)

// TestGoXenAPIClient runs the scenario with go-xen-api-client v0.0.2, an
// independent client (test-only dependency). Known bugs of that client, not
// of the simulator, are asserted as such:
//   - its Error keeps only the code and two parameters;
//   - it decodes event.from as an array, but xapi (and the simulator)
//     return a struct {events, valid_ref_counts, token}: From must fail to
//     decode, while the raw answer is checked to be the struct;
//   - it sends managed=false in network.create (so, on 8.2, which has that
//     parameter, the network is unmanaged, and network.attach needs an
//     existing bridge, as in xapi; 6.2 and 7.1 do not read it)
//     and locking_mode="" in VIF.create unless set.
func TestGoXenAPIClient(t *testing.T) {
	s, mh, _ := newTestServer(t, Options{AuthFailDelay: time.Millisecond, Seed: Seed{Version: "8.2"}})
	url := listen(t, s)
	c, err := xenapi.NewClient(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	apiErr := func(err error) *xenapi.Error {
		t.Helper()
		var xe *xenapi.Error
		if !errors.As(err, &xe) {
			t.Fatalf("want a xapi failure, got %v", err)
		}
		return xe
	}
	_, err = c.Session.LoginWithPassword("root", "wrong", "1.0", "go-xen-api-client")
	if xe := apiErr(err); xe.Code() != ErrSessionAuthenticationFailed || xe.Type() != "root" {
		t.Fatalf("bad password: %v", err)
	}
	sess, err := c.Session.LoginWithPassword("root", testPassword, "1.0", "go-xen-api-client")
	if err != nil {
		t.Fatal(err)
	}
	pools, err := c.Pool.GetAll(sess)
	if err != nil || len(pools) != 1 {
		t.Fatalf("pools %v %v", pools, err)
	}
	master, err := c.Pool.GetMaster(sess, pools[0])
	if err != nil {
		t.Fatal(err)
	}
	if maj, err := c.Host.GetAPIVersionMajor(sess, master); err != nil || maj != 2 {
		t.Fatalf("API major %v %v", maj, err)
	}

	net, err := c.Network.Create(sess, xenapi.NetworkRecord{NameLabel: "OpenStack VM Network", MTU: 1500, OtherConfig: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.Network.GetRecord(sess, net)
	if err != nil {
		t.Fatalf("network record: %v", err)
	}
	if rec.Bridge != "xapi0" || rec.Managed { // the client sent managed=false
		t.Fatalf("network %+v", rec)
	}
	_, err = c.APICall("network.attach", string(sess), string(net), string(master)) // not in this client
	if xe := apiErr(err); xe.Code() != ErrBridgeNotAvailable || xe.Type() != "xapi0" {
		t.Fatalf("attach of an unmanaged network: %v", err)
	}

	tpls, err := c.VM.GetByNameLabel(sess, UbuntuTemplateName)
	if err != nil || len(tpls) != 1 {
		t.Fatalf("template %v %v", tpls, err)
	}
	vm, err := c.VM.Clone(sess, tpls[0], "DevStackOSDomU")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VM.Provision(sess, vm); err != nil {
		t.Fatal(err)
	}
	if err := c.VM.SetIsATemplate(sess, vm, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VM.GetRecord(sess, vm); err != nil {
		t.Fatalf("VM record must decode (no enum unknown to this client): %v", err)
	}
	vifRec := xenapi.VIFRecord{Device: "0", Network: net, VM: vm, MTU: 1500, OtherConfig: map[string]string{},
		QosAlgorithmParams: map[string]string{}}
	_, err = c.VIF.Create(sess, vifRec)
	if xe := apiErr(err); xe.Code() != ErrInvalidValue || xe.Type() != "locking_mode" {
		t.Fatalf("locking_mode \"\": %v", err)
	}
	vifRec.LockingMode = xenapi.VifLockingModeNetworkDefault
	vif, err := c.VIF.Create(sess, vifRec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.VIF.Create(sess, vifRec)
	if xe := apiErr(err); xe.Code() != ErrDeviceAlreadyExists || xe.Type() != "0" {
		t.Fatalf("duplicate device: %v", err)
	}
	// Starting attaches the VM's networks: the unmanaged network's bridge
	// does not exist, so xapi refuses, and so does the simulator.
	err = c.VM.Start(sess, vm, false, false)
	if xe := apiErr(err); xe.Code() != ErrBridgeNotAvailable || xe.Type() != "xapi0" {
		t.Fatalf("start on an unmanaged network: %v", err)
	}
	if ps, err := c.VM.GetPowerState(sess, vm); err != nil || ps != xenapi.VMPowerStateHalted {
		t.Fatalf("power %v %v", ps, err)
	}
	err = c.VM.CleanShutdown(sess, vm)
	if xe := apiErr(err); xe.Code() != ErrVMBadPowerState || xe.Type() != string(vm) || xe.UUID() != "running" {
		t.Fatalf("bad power state: %v", err)
	}
	if len(mh.Bridges()) != 1 {
		t.Fatalf("a failed start left bridges: %v", mh.Bridges())
	}
	if vifs, err := c.VM.GetVIFs(sess, vm); err != nil || len(vifs) != 1 || vifs[0] != vif {
		t.Fatalf("VIFs %v %v", vifs, err)
	}

	// Known client bug: event.from is decoded as an array.
	_, err = c.Event.From(sess, []string{"vm"}, "", 0)
	if err == nil || !strings.Contains(err.Error(), "xmlrpc") && !strings.Contains(err.Error(), "expected") {
		t.Fatalf("go-xen-api-client decodes event.from as an array and should fail on xapi's struct; got %v", err)
	}
	raw, err := c.APICall("event.from", string(sess), []string{"vm"}, "", 0.0)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(raw.Value)
	if v.Kind() != reflect.Map {
		t.Fatalf("event.from value is %T, want xapi's struct", raw.Value)
	}
	var keys []string
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"events", "token", "valid_ref_counts"}) {
		t.Fatalf("event.from struct keys %v", keys)
	}
}
