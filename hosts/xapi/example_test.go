package xapi_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// Dial once per host, call typed methods, and tell xapi failures apart by
// code.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := xapi.Dial(ctx, xapi.Options{
		URL:         "https://xenserver.example",
		User:        "root",
		Password:    secret.New("from a file or the environment"),
		Fingerprint: "sha256:3f1c...", // only for a self-signed host
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)

	net, err := c.NetworkCreate(ctx, xapi.NetworkSpec{
		NameLabel:   "OpenStack VM Network",
		OtherConfig: map[string]string{"xenlab-lab": "lab1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	vms, err := c.VMGetByNameLabel(ctx, "DevStackOSDomU")
	if err != nil || len(vms) != 1 {
		log.Fatal(err)
	}
	_, err = c.VIFCreate(ctx, xapi.VIFSpec{VM: vms[0], Network: net, Device: "1"})
	var xe *xapi.Error
	if errors.As(err, &xe) && xe.Code == xapi.CodeDeviceAlreadyExists {
		fmt.Println("device 1 is taken:", xe.Params)
	}
	if err := c.VMStart(ctx, vms[0], false, false); err != nil && !xapi.HasCode(err, xapi.CodeVMBadPowerState) {
		log.Fatal(err)
	}
	ip, err := c.WaitGuestIP(ctx, vms[0], "0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("domU is at", ip, "after", c.RoundTrips(), "round trips")
}
