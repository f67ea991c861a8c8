package xapid

import "context"

// Host is what the simulated xapi needs from the machine it pretends to run
// on: dom0's Open vSwitch, dom0's file system and environment, and the
// guests. The simulator package (hosts/sim) implements it with a real or
// modelled switch and SSH servers; MemHost is a self-contained stand-in for
// tests of the xapi layer alone.
type Host interface {
	// EnsureBridge creates the OVS bridge on dom0's switch if it is missing
	// (what xapi does when a managed network is first attached on the host).
	EnsureBridge(ctx context.Context, bridge string) error
	// RemoveBridge deletes the bridge (when the last VIF leaves, or on
	// network.detach).
	RemoveBridge(ctx context.Context, bridge string) error
	// AddPort adds a plugged VIF's port (vif<domid>.<device>) to a bridge,
	// with the Interface external_ids xapi sets (xs-vif-uuid, xs-vm-uuid,
	// xs-network-uuid, attached-mac).
	AddPort(ctx context.Context, bridge, port string, externalIDs map[string]string) error
	// RemovePort removes a VIF's port (unplug, shutdown).
	RemovePort(ctx context.Context, bridge, port string) error
	// Dom0Path maps an absolute path in dom0 (such as
	// /etc/xapi.d/plugins/netwrap) to the file that holds it on this machine.
	Dom0Path(p string) string
	// Dom0Env is the environment dom0 processes (plugins) run with; its
	// PATH carries dom0's ovs-vsctl, ovs-ofctl and ovs-appctl.
	Dom0Env() []string
	// BootGuest is called once a VM has become Running and its VIFs are
	// plugged. It returns the IP the guest reports through its guest
	// metrics ("0/ip"), or "" if the guest reports none.
	BootGuest(ctx context.Context, g Guest) (ip string, err error)
	// StopGuest is called when a VM leaves Running (shutdown, revert,
	// destroy), before its ports are removed.
	StopGuest(ctx context.Context, vmUUID string) error
}

// GuestNetworker is an optional interface of a Host whose guests may have
// several addresses, or their management address on a device other than
// 0 (a guest's /etc/network/interfaces): after BootGuest, the guest
// metrics' networks are GuestNetworks' "<device>/ip" entries instead of
// {"0/ip": ip}.
type GuestNetworker interface {
	GuestNetworks(vmUUID string) map[string]string
}

// BridgeLabeler is a Host whose bridges carry external_ids (dom0's Open
// vSwitch): xapi's network backend marks the bridges it creates with
// xs-network-uuids, and ovs-xapi-sync adds bridge-id (makeBridge).
// EnsureLabelledBridge is EnsureBridge with those external_ids set in the
// same step, as the backend creates a bridge: one ovs-vsctl with
// --may-exist add-br and br-set-external-id (xen-api
// ocaml/network/network_utils.ml create_bridge).
type BridgeLabeler interface {
	EnsureLabelledBridge(ctx context.Context, bridge string, externalIDs map[string]string) error
}

// PortParker is a Host that keeps a suspended VM's VIF ports' links for
// its resume (with a GuestSuspender, which keeps the guest): ParkPort is
// RemovePort for a VM being suspended.
type PortParker interface {
	ParkPort(ctx context.Context, bridge, port, vm string) error
}

// Guest describes a VM that has just booted.
type Guest struct {
	UUID        string
	NameLabel   string
	DomID       int64
	PVArgs      string
	OtherConfig map[string]string
	VIFs        []GuestVIF
	// DiskInterfaces is the /etc/network/interfaces the installer wrote
	// into the VM's boot disk (InterfacesKey), "" when it was not
	// installed by the modelled installer: the guest starts with it when
	// its own file system has none yet.
	DiskInterfaces string
	// Disks are the VM's disks, as the guest's block devices: xvd<a+userdevice>.
	Disks []GuestDisk
	// VMData is the VM's xenstore_data under "vm-data/", which xapi
	// writes into the domain's xenstore when it starts and the guest
	// reads there (other keys are ignored, as xapi ignores them).
	VMData map[string]string
	// Resumed is set when the VM was resumed from a suspend image
	// (VM.resume, or the second half of VM.checkpoint): the guest's
	// memory, which the simulator does not keep, held what was running.
	Resumed bool
	// SuspendVDI is the uuid of the suspend image a resume read (set with
	// Resumed): a GuestSuspender that kept the guest of that image brings
	// it back as it was.
	SuspendVDI string
}

// GuestSuspender is implemented by a Host that keeps a suspended guest as
// Xen keeps a suspended domain in its suspend image: a suspend (VM.suspend,
// the first half of VM.checkpoint) calls SuspendGuest, naming the image
// (its VDI's uuid), instead of StopGuest; a resume of that image boots the
// guest with Guest.SuspendVDI set to it. A resume of another image (the VM
// was reverted to a checkpoint meanwhile) is a guest the host must not
// take for the one it kept.
type GuestSuspender interface {
	SuspendGuest(ctx context.Context, vmUUID, suspendVDI string) error
}

// GuestDisk is one disk (a VBD with a VDI) of a booted guest.
type GuestDisk struct {
	Userdevice string // "0", "1", ...: the guest's xvda, xvdb, ...
	Size       int64  // the VDI's virtual_size, bytes
}

// GuestVIF is one plugged VIF of a booted guest, in device order.
type GuestVIF struct {
	Device      string // "0", "1", ...
	MAC         string
	Bridge      string // dom0 bridge of the VIF's network
	NetworkUUID string
	NetworkName string
}
