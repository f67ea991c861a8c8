package xapi

import (
	"context"
	"fmt"
	"time"
)

// PoolGetAll returns the pool (there is exactly one, even for a lone host).
func (c *Client) PoolGetAll(ctx context.Context) ([]Ref, error) {
	return c.callRefs(ctx, "pool.get_all")
}

// PoolGetMaster returns the pool's master host.
func (c *Client) PoolGetMaster(ctx context.Context, pool Ref) (Ref, error) {
	return c.callRef(ctx, "pool.get_master", pool)
}

// PoolGetDefaultSR returns the pool's default storage repository (NullRef
// when none is set).
func (c *Client) PoolGetDefaultSR(ctx context.Context, pool Ref) (Ref, error) {
	return c.callRef(ctx, "pool.get_default_SR", pool)
}

// PoolGetRecord returns a pool record.
func (c *Client) PoolGetRecord(ctx context.Context, pool Ref) (PoolRecord, error) {
	return getRecord[PoolRecord](ctx, c, "pool", pool)
}

// PoolGetAllRecords returns the pool's record by reference (there is
// exactly one pool).
func (c *Client) PoolGetAllRecords(ctx context.Context) (map[Ref]PoolRecord, error) {
	return getAllRecords[PoolRecord](ctx, c, "pool")
}

// DefaultSR returns the default SR of the (single) pool, in one round trip
// (NullRef when none is set).
func (c *Client) DefaultSR(ctx context.Context) (Ref, error) {
	pools, err := c.PoolGetAllRecords(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range pools {
		return p.DefaultSR, nil
	}
	return NullRef, nil
}

// HostGetAll returns every host.
func (c *Client) HostGetAll(ctx context.Context) ([]Ref, error) {
	return c.callRefs(ctx, "host.get_all")
}

// HostGetRecord returns a host record (name, software_version with the
// network backend, API version, other_config, PIFs).
func (c *Client) HostGetRecord(ctx context.Context, host Ref) (HostRecord, error) {
	return getRecord[HostRecord](ctx, c, "host", host)
}

// HostGetAllRecords returns every host record by reference.
func (c *Client) HostGetAllRecords(ctx context.Context) (map[Ref]HostRecord, error) {
	return getAllRecords[HostRecord](ctx, c, "host")
}

// HostGetSoftwareVersion returns a host's software_version map.
func (c *Client) HostGetSoftwareVersion(ctx context.Context, host Ref) (map[string]string, error) {
	return c.callStringMap(ctx, "host.get_software_version", host)
}

// HostComputeFreeMemory returns the bytes of memory a new VM could use on
// host now (host.compute_free_memory).
func (c *Client) HostComputeFreeMemory(ctx context.Context, host Ref) (int64, error) {
	return c.callInt(ctx, "host.compute_free_memory", host)
}

// HostGetManagementInterface returns the PIF xapi manages the host through.
func (c *Client) HostGetManagementInterface(ctx context.Context, host Ref) (Ref, error) {
	return c.callRef(ctx, "host.get_management_interface", host)
}

// HostCallPlugin runs fn of the dom0 plugin /etc/xapi.d/plugins/<plugin>
// with args and returns its result string. A plugin that fails gives an
// *Error with code XENAPI_PLUGIN_FAILURE; an unknown function
// UNKNOWN_XENAPI_PLUGIN_FUNCTION.
func (c *Client) HostCallPlugin(ctx context.Context, host Ref, plugin, fn string, args map[string]string) (string, error) {
	if args == nil {
		args = map[string]string{}
	}
	return c.callString(ctx, "host.call_plugin", host, plugin, fn, args)
}

// PoolAddToOtherConfig adds key=value to the pool's other_config, atomically:
// xapi refuses an existing key with MAP_DUPLICATE_KEY (whatever its value).
func (c *Client) PoolAddToOtherConfig(ctx context.Context, pool Ref, key, value string) error {
	return c.callVoid(ctx, "pool.add_to_other_config", pool, key, value)
}

// PoolRemoveFromOtherConfig removes key from the pool's other_config (a
// missing key is not an error).
func (c *Client) PoolRemoveFromOtherConfig(ctx context.Context, pool Ref, key string) error {
	return c.callVoid(ctx, "pool.remove_from_other_config", pool, key)
}

// HostGetServertime returns the host's clock (UTC, whole seconds).
func (c *Client) HostGetServertime(ctx context.Context, host Ref) (time.Time, error) {
	const method = "host.get_servertime"
	v, err := c.Call(ctx, method, host)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := v.(time.Time)
	if !ok {
		return time.Time{}, c.shapeErr(method, fmt.Errorf("%T, want a dateTime", v))
	}
	return t.UTC(), nil
}
