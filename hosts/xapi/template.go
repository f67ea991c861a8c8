package xapi

import "context"

// VDIAddToOtherConfig adds key=value to a VDI's other_config.
func (c *Client) VDIAddToOtherConfig(ctx context.Context, vdi Ref, key, value string) error {
	return c.callVoid(ctx, "VDI.add_to_other_config", vdi, key, value)
}

// VMWaitHalted waits, on the VM's events rather than sleeps, until its
// power_state is Halted. A destroyed VM is an error.
func (c *Client) VMWaitHalted(ctx context.Context, vm Ref) error {
	first := true
	return c.WaitFor(ctx, []string{"vm/" + string(vm)}, func(ctx context.Context, events []Event) (bool, error) {
		seen, wasFirst := false, first
		first = false
		for _, ev := range events {
			if ev.Ref != vm {
				continue
			}
			if ev.Operation == "del" {
				return false, errVMDestroyed
			}
			var rec VMRecord
			if err := rec.UnmarshalXAPI(ev.Snapshot); err != nil {
				return false, c.shapeErr("event.from", err)
			}
			seen = true
			if rec.PowerState == "Halted" {
				return true, nil
			}
		}
		if !seen && wasFirst {
			// Not listed although asked for: read it, so that a missing VM
			// fails with xapi's HANDLE_INVALID.
			st, err := c.VMGetPowerState(ctx, vm)
			return st == "Halted", err
		}
		return false, nil
	})
}

var errVMDestroyed = errorString("the VM was destroyed")

type errorString string

func (e errorString) Error() string { return string(e) }

// VMSetActionsAfterReboot sets what xapi does when the guest reboots:
// "restart" or "destroy" (the VM halts).
func (c *Client) VMSetActionsAfterReboot(ctx context.Context, vm Ref, action string) error {
	return c.callVoid(ctx, "VM.set_actions_after_reboot", vm, action)
}
