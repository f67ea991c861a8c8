package xapi

import "context"

// VMAddToXenstoreData adds key=value to a VM's xenstore_data, the map xapi
// writes into the domain's xenstore when the VM starts: keys under
// "vm-data/" are what a guest reads there (xenstore-read vm-data/...;
// xen-api's guest agents documentation: "Only prefixes beginning with
// vm-data are permitted"). value is a Secret: it goes only into the
// call's body, never into an error or a log. xapi refuses an existing key
// with MAP_DUPLICATE_KEY.
func (c *Client) VMAddToXenstoreData(ctx context.Context, vm Ref, key string, value Secret) error {
	return c.callVoid(ctx, "VM.add_to_xenstore_data", vm, key, value.Reveal())
}

// VMRemoveFromXenstoreData removes key from a VM's xenstore_data (a key
// that is not there is no error, as for every map of xapi).
func (c *Client) VMRemoveFromXenstoreData(ctx context.Context, vm Ref, key string) error {
	return c.callVoid(ctx, "VM.remove_from_xenstore_data", vm, key)
}
