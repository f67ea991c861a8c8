package xapi

import (
	"context"
	"errors"
)

// LockingNetworkDefault is the VIF locking_mode that follows the network's
// default (what xe vif-create sets).
const LockingNetworkDefault = "network_default"

// VIFSpec is what VIFCreate sends.
type VIFSpec struct {
	VM      Ref
	Network Ref
	// Device is the VIF's slot, a decimal string unique per VM ("0", "1").
	Device string
	// MAC is empty for xapi to generate one.
	MAC         string
	MTU         int64 // 1500 when zero
	OtherConfig map[string]string
	// LockingMode is LockingNetworkDefault when empty.
	LockingMode        string
	QosAlgorithmType   string
	QosAlgorithmParams map[string]string
}

// VIFCreate creates a VIF with an explicit device. xapi refuses a device
// that is not a decimal number (INVALID_DEVICE) or already used on the VM
// (DEVICE_ALREADY_EXISTS).
func (c *Client) VIFCreate(ctx context.Context, spec VIFSpec) (Ref, error) {
	if spec.Device == "" {
		return "", errors.New("xapi: VIF.create needs an explicit device")
	}
	mtu := spec.MTU
	if mtu == 0 {
		mtu = 1500
	}
	mode := spec.LockingMode
	if mode == "" {
		mode = LockingNetworkDefault
	}
	rec := map[string]any{
		"device":               spec.Device,
		"network":              spec.Network,
		"VM":                   spec.VM,
		"MAC":                  spec.MAC,
		"MTU":                  mtu,
		"other_config":         stringMap(spec.OtherConfig),
		"qos_algorithm_type":   spec.QosAlgorithmType,
		"qos_algorithm_params": stringMap(spec.QosAlgorithmParams),
		"locking_mode":         mode,
		"ipv4_allowed":         []string{},
		"ipv6_allowed":         []string{},
	}
	return c.callRef(ctx, "VIF.create", rec)
}

// VIFGetRecord returns a VIF record.
func (c *Client) VIFGetRecord(ctx context.Context, vif Ref) (VIFRecord, error) {
	return getRecord[VIFRecord](ctx, c, "VIF", vif)
}

// VIFGetAllRecords returns every VIF record by reference.
func (c *Client) VIFGetAllRecords(ctx context.Context) (map[Ref]VIFRecord, error) {
	return getAllRecords[VIFRecord](ctx, c, "VIF")
}

// VIFPlug hot-plugs a VIF into its running VM.
func (c *Client) VIFPlug(ctx context.Context, vif Ref) error {
	return c.callVoid(ctx, "VIF.plug", vif)
}

// VIFUnplug hot-unplugs a VIF from its running VM.
func (c *Client) VIFUnplug(ctx context.Context, vif Ref) error {
	return c.callVoid(ctx, "VIF.unplug", vif)
}

// VIFDestroy removes a VIF record.
func (c *Client) VIFDestroy(ctx context.Context, vif Ref) error {
	return c.callVoid(ctx, "VIF.destroy", vif)
}
