package xapi

import "context"

// NetworkSpec is what NetworkCreate sends.
type NetworkSpec struct {
	NameLabel       string
	NameDescription string
	MTU             int64 // 1500 when zero
	OtherConfig     map[string]string
	Tags            []string
	// Bridge is usually empty: xapi then names the bridge xapi<N>.
	Bridge string
}

// NetworkCreate creates a managed network (xapi creates and removes its
// bridge as VIFs come and go). It returns the new network's reference.
func (c *Client) NetworkCreate(ctx context.Context, spec NetworkSpec) (Ref, error) {
	mtu := spec.MTU
	if mtu == 0 {
		mtu = 1500
	}
	rec := map[string]any{
		"name_label":       spec.NameLabel,
		"name_description": spec.NameDescription,
		"MTU":              mtu,
		"other_config":     stringMap(spec.OtherConfig),
		"tags":             stringList(spec.Tags),
		"bridge":           spec.Bridge,
		"managed":          true,
	}
	return c.callRef(ctx, "network.create", rec)
}

// NetworkGetByNameLabel returns the networks with that exact name label.
func (c *Client) NetworkGetByNameLabel(ctx context.Context, name string) ([]Ref, error) {
	return c.callRefs(ctx, "network.get_by_name_label", name)
}

// NetworkGetAllRecords returns every network record by reference.
func (c *Client) NetworkGetAllRecords(ctx context.Context) (map[Ref]NetworkRecord, error) {
	return getAllRecords[NetworkRecord](ctx, c, "network")
}

// NetworkGetRecord returns a network record.
func (c *Client) NetworkGetRecord(ctx context.Context, network Ref) (NetworkRecord, error) {
	return getRecord[NetworkRecord](ctx, c, "network", network)
}

// NetworkGetBridge returns the name of the network's bridge in dom0.
func (c *Client) NetworkGetBridge(ctx context.Context, network Ref) (string, error) {
	return c.callString(ctx, "network.get_bridge", network)
}

// NetworkAttach makes xapi create the network's bridge on host now, without
// a VIF on it (network.attach).
func (c *Client) NetworkAttach(ctx context.Context, network, host Ref) error {
	return c.callVoid(ctx, "network.attach", network, host)
}

// NetworkSetNameLabel renames a network; its bridge and VIFs stay.
func (c *Client) NetworkSetNameLabel(ctx context.Context, network Ref, name string) error {
	return c.callVoid(ctx, "network.set_name_label", network, name)
}

// NetworkDestroy removes a network; xapi refuses with NETWORK_CONTAINS_VIF
// or NETWORK_CONTAINS_PIF while interfaces use it.
func (c *Client) NetworkDestroy(ctx context.Context, network Ref) error {
	return c.callVoid(ctx, "network.destroy", network)
}

// NetworkGetVIFs returns the VIFs on a network.
func (c *Client) NetworkGetVIFs(ctx context.Context, network Ref) ([]Ref, error) {
	return c.callRefs(ctx, "network.get_VIFs", network)
}

// NetworkGetPIFs returns the PIFs on a network.
func (c *Client) NetworkGetPIFs(ctx context.Context, network Ref) ([]Ref, error) {
	return c.callRefs(ctx, "network.get_PIFs", network)
}

// NetworkGetOtherConfig returns a network's other_config.
func (c *Client) NetworkGetOtherConfig(ctx context.Context, network Ref) (map[string]string, error) {
	return c.callStringMap(ctx, "network.get_other_config", network)
}

// NetworkAddToOtherConfig adds key=value to other_config; xapi refuses an
// existing key with MAP_DUPLICATE_KEY.
func (c *Client) NetworkAddToOtherConfig(ctx context.Context, network Ref, key, value string) error {
	return c.callVoid(ctx, "network.add_to_other_config", network, key, value)
}

// NetworkRemoveFromOtherConfig removes key from other_config (a missing key
// is not an error).
func (c *Client) NetworkRemoveFromOtherConfig(ctx context.Context, network Ref, key string) error {
	return c.callVoid(ctx, "network.remove_from_other_config", network, key)
}

// PIFGetAllRecords returns every PIF record by reference.
func (c *Client) PIFGetAllRecords(ctx context.Context) (map[Ref]PIFRecord, error) {
	return getAllRecords[PIFRecord](ctx, c, "PIF")
}

// PIFGetRecord returns a PIF record.
func (c *Client) PIFGetRecord(ctx context.Context, pif Ref) (PIFRecord, error) {
	return getRecord[PIFRecord](ctx, c, "PIF", pif)
}

// ManagementNetwork returns the network of the host's management PIF
// (the PIF with management=true), and that PIF.
func (c *Client) ManagementNetwork(ctx context.Context, host Ref) (Ref, PIFRecord, error) {
	pif, err := c.HostGetManagementInterface(ctx, host)
	if err != nil {
		return "", PIFRecord{}, err
	}
	rec, err := c.PIFGetRecord(ctx, pif)
	if err != nil {
		return "", PIFRecord{}, err
	}
	return rec.Network, rec, nil
}

// stringMap returns m, or an empty map for nil, since xapi wants a struct.
func stringMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// stringList returns s, or an empty list for nil.
func stringList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
