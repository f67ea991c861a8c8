package xapi

import "context"

// SRGetAllRecords returns every storage repository record by reference.
func (c *Client) SRGetAllRecords(ctx context.Context) (map[Ref]SRRecord, error) {
	return getAllRecords[SRRecord](ctx, c, "SR")
}

// SRGetRecord returns an SR record.
func (c *Client) SRGetRecord(ctx context.Context, sr Ref) (SRRecord, error) {
	return getRecord[SRRecord](ctx, c, "SR", sr)
}

// VDIGetRecord returns a virtual disk record.
func (c *Client) VDIGetRecord(ctx context.Context, vdi Ref) (VDIRecord, error) {
	return getRecord[VDIRecord](ctx, c, "VDI", vdi)
}

// VDIDestroy removes a virtual disk and its data.
func (c *Client) VDIDestroy(ctx context.Context, vdi Ref) error {
	return c.callVoid(ctx, "VDI.destroy", vdi)
}

// VBDGetRecord returns a virtual block device record.
func (c *Client) VBDGetRecord(ctx context.Context, vbd Ref) (VBDRecord, error) {
	return getRecord[VBDRecord](ctx, c, "VBD", vbd)
}
