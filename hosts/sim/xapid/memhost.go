package xapid

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
)

// MemHost is a self-contained Host for tests of the xapi layer: it records
// bridges and ports in memory, maps dom0 paths under a directory, and
// boots guests instantly with an address 10.0.<domid/256>.<domid%256>.
type MemHost struct {
	root string // dom0's file system root; "" maps nothing

	mu      sync.Mutex
	bridges map[string]map[string]map[string]string // bridge -> port -> external_ids
	guests  map[string]Guest                        // running guests by VM uuid
	// NoIP makes BootGuest report no address.
	NoIP bool
}

// NewMemHost returns a MemHost whose dom0 file system is rooted at root
// (may be "").
func NewMemHost(root string) *MemHost {
	return &MemHost{root: root, bridges: map[string]map[string]map[string]string{}, guests: map[string]Guest{}}
}

// EnsureBridge implements Host.
func (h *MemHost) EnsureBridge(_ context.Context, bridge string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bridges[bridge] == nil {
		h.bridges[bridge] = map[string]map[string]string{}
	}
	return nil
}

// RemoveBridge implements Host.
func (h *MemHost) RemoveBridge(_ context.Context, bridge string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bridges[bridge] == nil {
		return fmt.Errorf("remove bridge %s: no such bridge", bridge)
	}
	delete(h.bridges, bridge)
	return nil
}

// DeleteBridges implements SwitchResetter: every bridge goes.
func (h *MemHost) DeleteBridges(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.bridges)
	return nil
}

// AddPort implements Host. Like the simulator's `--may-exist add-port`, a
// port already on that bridge is kept (its external_ids replaced).
func (h *MemHost) AddPort(_ context.Context, bridge, port string, ids map[string]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.bridges[bridge]
	if b == nil {
		return fmt.Errorf("add port %s: no bridge %s", port, bridge)
	}
	for name, ports := range h.bridges {
		if _, dup := ports[port]; dup && name != bridge {
			return fmt.Errorf("add port %s to %s: already on bridge %s", port, bridge, name)
		}
	}
	b[port] = ids
	return nil
}

// RemovePort implements Host.
func (h *MemHost) RemovePort(_ context.Context, bridge, port string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.bridges[bridge][port]; !ok {
		return fmt.Errorf("remove port %s: not on bridge %s", port, bridge)
	}
	delete(h.bridges[bridge], port)
	return nil
}

// BridgePorts implements PortLister.
func (h *MemHost) BridgePorts(_ context.Context, bridge string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.bridges[bridge]
	if !ok {
		return nil, fmt.Errorf("list ports: no bridge %s", bridge)
	}
	return slices.Sorted(maps.Keys(b)), nil
}

// Dom0Path implements Host.
func (h *MemHost) Dom0Path(p string) string {
	if h.root == "" {
		return filepath.Join("/nonexistent-dom0", filepath.Clean("/"+p))
	}
	return filepath.Join(h.root, filepath.Clean("/"+p))
}

// Dom0Env implements Host: this process's PATH and HOME.
func (h *MemHost) Dom0Env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "LANG=C"}
}

// BootGuest implements Host.
func (h *MemHost) BootGuest(_ context.Context, g Guest) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.guests[g.UUID] = g
	if h.NoIP {
		return "", nil
	}
	return fmt.Sprintf("10.0.%d.%d", g.DomID/256%256, g.DomID%256), nil
}

// StopGuest implements Host.
func (h *MemHost) StopGuest(_ context.Context, vmUUID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.guests, vmUUID)
	return nil
}

// Bridges returns the bridges that exist, sorted.
func (h *MemHost) Bridges() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.bridges))
}

// Port returns the external_ids of a port on a bridge, and whether it exists.
func (h *MemHost) Port(bridge, port string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids, ok := h.bridges[bridge][port]
	return ids, ok
}

// Guests returns the running guests' VM uuids, sorted.
func (h *MemHost) Guests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.guests))
}

// PortLister is optionally implemented by a Host that can list the ports
// of a bridge. xapi removes an internal network's bridge when its last VIF
// leaves only if no other interface is on it (ports added by hand or by
// an agent keep it); without PortLister the simulator assumes none.
type PortLister interface {
	BridgePorts(ctx context.Context, bridge string) ([]string, error)
}

// Dom0Runner is implemented by a Host whose dom0 processes run confined
// (the simulator's dom0 runs them in a root of its own): plugins then run
// as its other processes do. argv's paths are dom0's; machineDirs are
// directories of this machine the process needs at their own paths.
type Dom0Runner interface {
	Dom0Command(ctx context.Context, argv, env, machineDirs []string) (*exec.Cmd, error)
}

// Dom0Starter is implemented by a Dom0Runner that starts its commands
// more cheaply itself than their own Start does (the simulator's dom0
// starts them straight in its lasting root).
type Dom0Starter interface {
	Dom0Start(cmd *exec.Cmd) error
}

// GuestRemover is implemented by a Host that keeps per-VM files (the
// guest's file system): VM.destroy calls RemoveGuest after removing the
// records, so that a destroyed VM leaves nothing behind, as on xapi.
type GuestRemover interface {
	RemoveGuest(ctx context.Context, vmUUID string) error
}

// Guest returns the running guest of a VM, as BootGuest was given it.
func (h *MemHost) Guest(vmUUID string) (Guest, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.guests[vmUUID]
	return g, ok
}
