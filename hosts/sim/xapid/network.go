package xapid

import (
	"fmt"
	"strings"
)

// bridgeBlacklist are prefixes xapi refuses for user-chosen bridge names.
var bridgeBlacklist = []string{"xen", "xapi", "vif", "tap", "eth"}

func init() {
	register("network.create", handler{arity: 2, fn: (*call).networkCreate})
	register("network.destroy", handler{arity: 2, fn: (*call).networkDestroy})
	register("network.attach", handler{arity: 3, fn: (*call).networkAttach})
}

// networkCreate is network.create(record): a record only. An empty bridge
// becomes xapi<N> with xapi's counter, skipping names in use; a chosen one
// must be new, at most 15 characters and not start with a reserved prefix.
func (c *call) networkCreate(a args) any {
	r := recordArg(a.record(0, "args"))
	name := r.reqStr("name_label")
	desc := r.str("name_description", "")
	mtu := r.int("MTU", 1500)
	if mtu <= 0 {
		mtu = 1500
	}
	oc := r.strMap("other_config")
	bridge := r.str("bridge", "")
	managed := r.bool("managed", true)
	tags := r.strSet("tags")
	if !c.s.release.Since(Falcon) {
		// Before 7.2 (Falcon) network.create has no bridge and no managed
		// (xen-api ocaml/xapi/xapi_network.ml create, tags XS62 and
		// v1.14.0; datamodel.ml: bridge "Added to the constructor" and
		// managed published in rel_falcon): a record's members for them
		// are not read, the bridge is always xapi<N>.
		bridge, managed = "", true
	}

	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	used := map[string]bool{}
	for _, n := range d.all("network") {
		used[n.fields["bridge"].(string)] = true
	}
	if bridge == "" {
		for {
			bridge = fmt.Sprintf("xapi%d", c.s.rt.bridgeN)
			c.s.rt.bridgeN++
			if !used[bridge] {
				break
			}
		}
	} else {
		bad := len(bridge) > 15
		for _, p := range bridgeBlacklist {
			bad = bad || strings.HasPrefix(bridge, p)
		}
		if bad {
			fail(ErrInvalidValue, "bridge", bridge)
		}
		if used[bridge] {
			fail(ErrBridgeNameExists, bridge)
		}
	}
	rec := networkRecord(name, bridge, managed)
	rec["name_description"] = desc
	rec["MTU"] = mtu
	rec["other_config"] = oc
	rec["tags"] = tags
	return d.insert("network", rec).ref
}

// networkDestroy refuses NETWORK_CONTAINS_VIF [attached VIFs...] and
// NETWORK_CONTAINS_PIF [PIFs...], then removes the unattached VIF records
// with the network.
func (c *call) networkDestroy(a args) any {
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	n := c.obj("network", a.str(0, "self"))
	vifs := d.where("VIF", "network", n.ref)
	var attached []string
	for _, v := range vifs {
		if v.fields["currently_attached"] == true {
			attached = append(attached, v.ref)
		}
	}
	if len(attached) > 0 {
		fail(ErrNetworkContainsVIF, attached...)
	}
	if pifs := refs(d.where("PIF", "network", n.ref)); len(pifs) > 0 {
		fail(ErrNetworkContainsPIF, pifs...)
	}
	for _, v := range vifs {
		d.remove(v)
	}
	d.remove(n)
	delete(c.s.rt.attached, n.ref)
	return ""
}

// networkAttach is network.attach(network, host): the bridge of a managed
// network is created on the host; an unmanaged network's bridge must
// already exist (BRIDGE_NOT_AVAILABLE [bridge]).
func (c *call) networkAttach(a args) any {
	c.s.hostMu.Lock()
	defer c.s.hostMu.Unlock()
	var n *object
	var bridge, uuid, id string
	var managed bool
	c.s.withDB(func() {
		n = c.obj("network", a.str(0, "network"))
		c.obj("host", a.str(1, "host"))
		bridge = n.fields["bridge"].(string)
		managed = n.fields["managed"].(bool)
		uuid, id = n.fields["uuid"].(string), bridgeID(n)
	})
	if !managed {
		if !c.s.rt.bridges[bridge] && !c.s.bridgeExists(c.ctx, bridge) {
			fail(ErrBridgeNotAvailable, bridge)
		}
		return ""
	}
	if err := c.s.makeBridge(c.ctx, bridge, uuid, id); err != nil {
		fail(ErrInternalError, fmt.Sprintf("creating bridge %s: %v", bridge, err))
	}
	c.s.withDB(func() { c.s.rt.attached[n.ref] = true })
	return ""
}
