package steps

import (
	"context"
	"encoding/base64"
	"fmt"

	"xenlab/hosts/xapi"
	"xenlab/secret"
	"xenlab/templates"
)

// domU's /etc/network/interfaces reaches it before its first boot, as
// devstack's build_xva.sh wrote it into domU's disk and as domU's SSH host
// key does (hostkey.go):
//
//   - The domU step, while domU is Halted, puts the file the lab renders
//     (guestNetwork.render), as base64, into domU's xenstore_data under
//     XenstoreInterfaces, when domU's template has the first-boot job that
//     installs it (templates.InterfacesJobKey, templates/netjob.go): at
//     boot, before networking starts, the job makes it the guest's
//     /etc/network/interfaces, so domU's first boot brings up the lab's
//     addresses and guest-network finds nothing to do.
//   - guest-network, when the addresses change on a running domU, updates
//     xenstore_data before it reboots domU (the job would otherwise put
//     the old file back at boot), besides writing the file over SSH.
//   - A domU without the mark (a template made before the job, or one of
//     yours without it) gets the file over SSH and a reboot, as before.
//
// The file holds no secret; the value still goes through the call as a
// secret.Secret, which is what xapi.Client takes for xenstore_data.
const XenstoreInterfaces = templates.InterfacesXenstoreKey

// interfacesJob reports whether domU's template has the first-boot job
// that installs the interfaces file from xenstore.
func interfacesJob(rec xapi.VMRecord) bool {
	return rec.OtherConfig[templates.InterfacesJobKey] == XenstoreInterfaces
}

// xenstoreValue is the xenstore_data value of an interfaces file.
func xenstoreValue(file []byte) string { return base64.StdEncoding.EncodeToString(file) }

// interfacesBehind reports whether domU has the job and its xenstore_data
// lacks the file the lab renders (want, as xenstoreValue).
func interfacesBehind(rec xapi.VMRecord, want string) bool {
	return interfacesJob(rec) && rec.XenstoreInterfaces != want
}

// giveInterfaces puts the interfaces file (as xenstoreValue) into domU's
// xenstore_data, replacing what was there; the guest installs it at its
// next boot.
func giveInterfaces(ctx context.Context, c *xapi.Client, vm xapi.Ref, want string) error {
	if err := c.VMRemoveFromXenstoreData(ctx, vm, XenstoreInterfaces); err != nil {
		return err
	}
	if err := c.VMAddToXenstoreData(ctx, vm, XenstoreInterfaces, secret.New(want)); err != nil {
		return fmt.Errorf("giving domU its %s (xenstore_data %s): %w", InterfacesPath, XenstoreInterfaces, err)
	}
	return nil
}
