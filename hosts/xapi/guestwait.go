package xapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// VMCleanReboot asks the guest to reboot (its PV drivers do it); the VM
// comes back as a new domain (a new domid).
func (c *Client) VMCleanReboot(ctx context.Context, vm Ref) error {
	return c.callVoid(ctx, "VM.clean_reboot", vm)
}

// WaitGuest waits, through event.from, until ok holds for the VM's record
// and the networks its guest metrics report ("<device>/ip" -> address),
// and returns those networks. It is WaitGuestIP for a condition of its
// own: a domain that is not the one before a reboot, several addresses.
func (c *Client) WaitGuest(ctx context.Context, vm Ref, ok func(rec VMRecord, nets map[string]string) bool) (map[string]string, error) {
	got, err := c.watchGuest(ctx, vm, func(ctx context.Context) (VMRecord, error) { return c.VMGetRecord(ctx, vm) }, ok)
	if err != nil {
		return nil, fmt.Errorf("xapi: waiting for the guest of VM %s: %w", vm, err)
	}
	return got, nil
}

// watchGuest follows the VM's events and guest metrics' until ok holds for
// the VM's record and the networks of the guest metrics it names, and
// returns those networks (never nil). Records come from the events'
// snapshots; first reads the VM when the first batch of events does not
// carry it.
func (c *Client) watchGuest(ctx context.Context, vm Ref, first func(context.Context) (VMRecord, error), ok func(rec VMRecord, nets map[string]string) bool) (map[string]string, error) {
	var rec VMRecord
	nets := map[Ref]map[string]string{} // networks of every metrics object seen
	reading := true
	var got map[string]string
	err := c.WaitFor(ctx, []string{"vm/" + string(vm), "vm_guest_metrics"}, func(ctx context.Context, events []Event) (bool, error) {
		seen := false
		for _, ev := range events {
			switch {
			case strings.EqualFold(ev.Class, "vm") && ev.Ref == vm:
				if ev.Operation == "del" {
					return false, errors.New("the VM was destroyed")
				}
				if err := rec.UnmarshalXAPI(ev.Snapshot); err != nil {
					return false, c.shapeErr("event.from", err)
				}
				seen = true
			case strings.EqualFold(ev.Class, "vm_guest_metrics"):
				if ev.Operation == "del" {
					delete(nets, ev.Ref)
					continue
				}
				var m GuestMetricsRecord
				if err := m.UnmarshalXAPI(ev.Snapshot); err != nil {
					return false, c.shapeErr("event.from", err)
				}
				nets[ev.Ref] = m.Networks
			}
		}
		if reading && !seen {
			r, err := first(ctx)
			if err != nil {
				return false, err
			}
			rec = r
		}
		reading = false
		got = nets[rec.GuestMetrics]
		if got == nil {
			got = map[string]string{}
		}
		return ok(rec, got), nil
	})
	return got, err
}
