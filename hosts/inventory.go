package hosts

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"xenlab/hosts/xapi"
)

// InventoryClasses are the xapi classes the lab's steps read. The VM class
// is among them although most of its objects are templates: the lab's
// cached template is found by its ownership tag in other_config, which no
// server-side filter of event.from reaches, so the empty-token read pays
// for the templates once per run; every refresh after it carries only
// what changed.
var InventoryClasses = []string{"host", "pool", "SR", "network", "PIF", "VIF", "VM", "VBD", "VDI", "VM_guest_metrics", "VM_metrics"}

// Snapshot is the host's xapi objects of InventoryClasses at one moment.
// It is never changed after it is returned: a refresh makes a new one, so
// steps running in parallel may hold it.
type Snapshot struct {
	Hosts        map[xapi.Ref]xapi.HostRecord
	Pools        map[xapi.Ref]xapi.PoolRecord
	SRs          map[xapi.Ref]xapi.SRRecord
	Networks     map[xapi.Ref]xapi.NetworkRecord
	PIFs         map[xapi.Ref]xapi.PIFRecord
	VIFs         map[xapi.Ref]xapi.VIFRecord
	VMs          map[xapi.Ref]xapi.VMRecord
	VBDs         map[xapi.Ref]xapi.VBDRecord
	VDIs         map[xapi.Ref]xapi.VDIRecord
	GuestMetrics map[xapi.Ref]xapi.GuestMetricsRecord
	VMMetrics    map[xapi.Ref]xapi.VMMetricsRecord
}

func (s *Snapshot) clone() *Snapshot {
	return &Snapshot{
		Hosts: maps.Clone(s.Hosts), Pools: maps.Clone(s.Pools), SRs: maps.Clone(s.SRs),
		Networks: maps.Clone(s.Networks), PIFs: maps.Clone(s.PIFs), VIFs: maps.Clone(s.VIFs),
		VMs: maps.Clone(s.VMs), VBDs: maps.Clone(s.VBDs), VDIs: maps.Clone(s.VDIs), GuestMetrics: maps.Clone(s.GuestMetrics),
		VMMetrics: maps.Clone(s.VMMetrics),
	}
}

func emptySnapshot() *Snapshot {
	return &Snapshot{
		Hosts: map[xapi.Ref]xapi.HostRecord{}, Pools: map[xapi.Ref]xapi.PoolRecord{},
		SRs: map[xapi.Ref]xapi.SRRecord{}, Networks: map[xapi.Ref]xapi.NetworkRecord{},
		PIFs: map[xapi.Ref]xapi.PIFRecord{}, VIFs: map[xapi.Ref]xapi.VIFRecord{},
		VMs: map[xapi.Ref]xapi.VMRecord{}, VBDs: map[xapi.Ref]xapi.VBDRecord{},
		VDIs: map[xapi.Ref]xapi.VDIRecord{}, GuestMetrics: map[xapi.Ref]xapi.GuestMetricsRecord{},
		VMMetrics: map[xapi.Ref]xapi.VMMetricsRecord{},
	}
}

// apply folds one event into s.
func (s *Snapshot) apply(ev xapi.Event) error {
	del := ev.Operation == "del"
	switch strings.ToLower(ev.Class) {
	case "host":
		return put(s.Hosts, ev, del)
	case "pool":
		return put(s.Pools, ev, del)
	case "sr":
		return put(s.SRs, ev, del)
	case "network":
		return put(s.Networks, ev, del)
	case "pif":
		return put(s.PIFs, ev, del)
	case "vif":
		return put(s.VIFs, ev, del)
	case "vm":
		return put(s.VMs, ev, del)
	case "vbd":
		return put(s.VBDs, ev, del)
	case "vdi":
		return put(s.VDIs, ev, del)
	case "vm_guest_metrics":
		return put(s.GuestMetrics, ev, del)
	case "vm_metrics":
		return put(s.VMMetrics, ev, del)
	}
	return nil // a class not asked for
}

type record[T any] interface {
	*T
	UnmarshalXAPI(any) error
}

func put[T any, PT record[T]](m map[xapi.Ref]T, ev xapi.Event, del bool) error {
	if del {
		delete(m, ev.Ref)
		return nil
	}
	var rec T
	if err := PT(&rec).UnmarshalXAPI(ev.Snapshot); err != nil {
		return fmt.Errorf("event.from: %s %s: %w", ev.Class, ev.Ref, err)
	}
	m[ev.Ref] = rec
	return nil
}

// inventory is one host's shared read of xapi.
type inventory struct {
	snap  *Snapshot
	token string
	stale bool
}

// Inventory returns the host's xapi objects. The first call reads them
// with one event.from and an empty token; later calls return the same
// snapshot until Changed is called, and then refresh it with one
// event.from from the last token, which carries only what changed.
func (h *Host) Inventory(ctx context.Context) (*Snapshot, error) {
	c, err := h.XAPI(ctx)
	if err != nil {
		return nil, err
	}
	h.invMu.Lock()
	defer h.invMu.Unlock()
	inv := &h.inv
	if inv.snap != nil && !inv.stale {
		return inv.snap, nil
	}
	if inv.snap != nil {
		b, err := c.EventFrom(ctx, InventoryClasses, inv.token, 0)
		if err == nil {
			next := inv.snap.clone()
			for _, ev := range b.Events {
				if err := next.apply(ev); err != nil {
					return nil, err
				}
			}
			inv.snap, inv.token, inv.stale = next, b.Token, false
			return inv.snap, nil
		}
		if !xapi.HasCode(err, xapi.CodeEventsLost) {
			return nil, err
		}
		// Too much changed since the token: read everything again.
	}
	b, err := c.EventFrom(ctx, InventoryClasses, "", 0)
	if err != nil {
		return nil, err
	}
	next := emptySnapshot()
	for _, ev := range b.Events {
		if err := next.apply(ev); err != nil {
			return nil, err
		}
	}
	inv.snap, inv.token, inv.stale = next, b.Token, false
	return inv.snap, nil
}

// Changed tells the inventory that the host was written to: the next
// Inventory call refreshes it.
func (h *Host) Changed() {
	h.invMu.Lock()
	h.inv.stale = true
	h.invMu.Unlock()
}

// Only returns the reference and record of a map's only entry, and false
// when it has none or several.
func Only[T any](m map[xapi.Ref]T) (xapi.Ref, T, bool) {
	var ref xapi.Ref
	var rec T
	if len(m) != 1 {
		return ref, rec, false
	}
	for ref, rec = range m {
	}
	return ref, rec, true
}
