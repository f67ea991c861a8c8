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

// VDISpec is what VDICreate needs for a new virtual disk.
type VDISpec struct {
	NameLabel       string
	NameDescription string
	SR              Ref
	VirtualSize     int64  // bytes
	Type            string // "user" when empty (a data disk), "system" for a root disk
	OtherConfig     map[string]string
}

// VDICreate makes a new, empty virtual disk in an SR.
func (c *Client) VDICreate(ctx context.Context, spec VDISpec) (Ref, error) {
	typ := spec.Type
	if typ == "" {
		typ = "user"
	}
	rec := map[string]any{
		"name_label":       spec.NameLabel,
		"name_description": spec.NameDescription,
		"SR":               spec.SR,
		"virtual_size":     spec.VirtualSize,
		"type":             typ,
		"sharable":         false,
		"read_only":        false,
		"other_config":     stringMap(spec.OtherConfig),
		"xenstore_data":    map[string]string{},
		"sm_config":        map[string]string{},
		"tags":             []string{},
	}
	return c.callRef(ctx, "VDI.create", rec)
}

// VBDSpec is what VBDCreate needs to connect a disk to a VM.
type VBDSpec struct {
	VM         Ref
	VDI        Ref
	Userdevice string // "1" is xvdb
	Bootable   bool
	// OtherConfig of the new VBD.
	OtherConfig map[string]string
}

// VBDCreate connects a disk to a VM as a read-write Disk; it is attached
// when the VM next starts (or by VBD.plug on a running VM).
func (c *Client) VBDCreate(ctx context.Context, spec VBDSpec) (Ref, error) {
	rec := map[string]any{
		"VM":                   spec.VM,
		"VDI":                  spec.VDI,
		"userdevice":           spec.Userdevice,
		"bootable":             spec.Bootable,
		"mode":                 "RW",
		"type":                 "Disk",
		"unpluggable":          true,
		"empty":                false,
		"other_config":         stringMap(spec.OtherConfig),
		"qos_algorithm_type":   "",
		"qos_algorithm_params": map[string]string{},
	}
	return c.callRef(ctx, "VBD.create", rec)
}
