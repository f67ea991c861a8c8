package xapid

import (
	"context"
	"errors"
	"fmt"
)

// This file holds the simulator's effects on dom0: bridges and VIF ports.
// Callers hold s.hostMu and not the db lock (Host calls may be slow).

// vifPort is what plugging or unplugging one VIF needs, read from the db.
type vifPort struct {
	ref, uuid, device, mac string
	vmUUID, vmRef          string
	network, netUUID       string
	netName, bridge        string
	managed                bool
	domid                  int64
	// ifaceID and vmID are what ovs-xapi-sync writes as the Interface's
	// iface-id and vm-id: the VIF's other_config:nicira-iface-id and the
	// VM's other_config:nicira-vm-id, else their uuids.
	ifaceID, vmID string
	// bridgeID is what ovs-xapi-sync writes as the bridge's bridge-id:
	// the network's other_config:nicira-bridge-id, else its uuid.
	bridgeID string
	// pifsUp: the network has PIFs and all are attached, so its bridge
	// is up already (xenbr0).
	pifsUp bool
}

func (p vifPort) port() string { return fmt.Sprintf("vif%d.%s", p.domid, p.device) }

// vifPortOf reads a VIF's plug information; the caller holds the db lock.
func (s *Server) vifPortOf(v *object, domid int64) vifPort {
	p := vifPort{ref: v.ref, uuid: v.fields["uuid"].(string), device: v.fields["device"].(string),
		mac: v.fields["MAC"].(string), vmRef: v.fields["VM"].(string), network: v.fields["network"].(string), domid: domid}
	p.ifaceID = p.uuid
	if id, ok := v.fields["other_config"].(map[string]string)["nicira-iface-id"]; ok {
		p.ifaceID = id
	}
	if vm, ok := s.db.objs[p.vmRef]; ok {
		p.vmUUID = vm.fields["uuid"].(string)
		p.vmID = p.vmUUID
		if id, ok := vm.fields["other_config"].(map[string]string)["nicira-vm-id"]; ok {
			p.vmID = id
		}
	}
	if n, ok := s.db.objs[p.network]; ok {
		p.netUUID = n.fields["uuid"].(string)
		p.netName = n.fields["name_label"].(string)
		p.bridge = n.fields["bridge"].(string)
		p.managed = n.fields["managed"] == true
		p.bridgeID = bridgeID(n)
		pifs := s.db.where("PIF", "network", p.network)
		p.pifsUp = len(pifs) > 0
		for _, pif := range pifs {
			p.pifsUp = p.pifsUp && pif.fields["currently_attached"] == true
		}
	}
	return p
}

// bridgeID is ovs-xapi-sync's get_bridge_id: the network's
// other_config:nicira-bridge-id, else (its bridge's xs-network-uuids being
// one network) the network's uuid. The caller holds the db lock.
func bridgeID(n *object) string {
	if id, ok := n.fields["other_config"].(map[string]string)["nicira-bridge-id"]; ok {
		return id
	}
	return n.fields["uuid"].(string)
}

// makeBridge creates a network's bridge on dom0 (idempotent) with the
// external_ids a host's bridge has: xs-network-uuids, which xapi's network
// backend sets when it creates the bridge (xen-api
// ocaml/network/network_utils.ml create_bridge, br-set-external-id, tag
// XS62), and bridge-id, which Open vSwitch's ovs-xapi-sync adds
// (xenserver/usr_share_openvswitch_scripts_ovs-xapi-sync). A Host without
// labels (BridgeLabeler) gets the bridge alone. It is recorded as made.
func (s *Server) makeBridge(ctx context.Context, bridge, netUUID, id string) error {
	var err error
	if bl, ok := s.host.(BridgeLabeler); ok && netUUID != "" {
		err = bl.EnsureLabelledBridge(ctx, bridge, map[string]string{"xs-network-uuids": netUUID, "bridge-id": id})
	} else {
		err = s.host.EnsureBridge(ctx, bridge)
	}
	if err != nil {
		return err
	}
	s.rt.bridges[bridge] = true
	return nil
}

// bridgeExists asks dom0 whether a bridge exists, when the Host can tell.
func (s *Server) bridgeExists(ctx context.Context, bridge string) bool {
	pl, ok := s.host.(PortLister)
	if !ok {
		return false
	}
	_, err := pl.BridgePorts(ctx, bridge)
	return err == nil
}

// plugPort adds a VIF's port vif<domid>.<device> to its network's bridge,
// creating the bridge first, with the external_ids xapi sets. As xapi's
// attach_internal (xen-api ocaml/xapi/xapi_network.ml, XS62), only an
// internal network's bridge is made for a VIF: the bridge of a network
// whose PIFs are attached (xenbr0) is up already, and is left alone.
func (s *Server) plugPort(ctx context.Context, p vifPort) error {
	if p.netUUID == "" {
		// A VIF created on a network that does not exist: xapi's
		// xapi_xenops.ml reads the network's bridge to plug it, and the
		// missing row is HANDLE_INVALID [network, ref].
		return apiErr(ErrHandleInvalid, "network", p.network)
	}
	// An unmanaged network's bridge is never created by xapi: it must exist.
	if !p.managed && !s.rt.bridges[p.bridge] && !s.bridgeExists(ctx, p.bridge) {
		return apiErr(ErrBridgeNotAvailable, p.bridge)
	}
	if !p.pifsUp {
		if err := s.makeBridge(ctx, p.bridge, p.netUUID, p.bridgeID); err != nil {
			return fmt.Errorf("creating bridge %s for VIF %s: %w", p.bridge, p.uuid, err)
		}
	}
	// What xen-api's scripts/vif sets when it adds the port...
	ids := map[string]string{"xs-vif-uuid": p.uuid, "xs-vm-uuid": p.vmUUID,
		"xs-network-uuid": p.netUUID, "attached-mac": p.mac}
	// ...and what Open vSwitch's ovs-xapi-sync daemon adds as soon as it
	// sees the Interface (xenserver/usr_share_openvswitch_scripts_ovs-xapi-sync):
	// iface-id from the VIF's nicira-iface-id (default its uuid), and a vif
	// without a tap twin is the active one. vm-id came with Open vSwitch
	// 1.7; the release says whether its dom0's Open vSwitch has it.
	ids["iface-id"] = p.ifaceID
	ids["iface-status"] = "active"
	if s.release.SyncVMID {
		ids["vm-id"] = p.vmID
	}
	if err := s.host.AddPort(ctx, p.bridge, p.port(), ids); err != nil {
		return fmt.Errorf("adding port %s to %s: %w", p.port(), p.bridge, err)
	}
	return nil
}

// unplugPort removes a VIF's port and then the bridge of an internal
// network nobody uses any more, as xapi's deregister_vif does. Errors are
// logged: unplugging continues, as in xapi.
func (s *Server) unplugPort(ctx context.Context, p vifPort) {
	if err := s.host.RemovePort(ctx, p.bridge, p.port()); err != nil {
		s.logf("xapid: removing port %s from %s: %v", p.port(), p.bridge, err)
	}
	s.releaseBridge(ctx, p.network)
}

// releaseBridge removes an internal network's bridge when no plugged VIF
// uses it, it was not attached with network.attach, and no other
// interface is on it. The caller has already marked the leaving VIFs
// detached in the db.
func (s *Server) releaseBridge(ctx context.Context, network string) {
	s.db.mu.Lock()
	n, ok := s.db.objs[network]
	if !ok {
		s.db.mu.Unlock()
		return
	}
	bridge := n.fields["bridge"].(string)
	inUse := s.rt.attached[network] || len(s.db.where("PIF", "network", network)) > 0
	for _, v := range s.db.where("VIF", "network", network) {
		inUse = inUse || v.fields["currently_attached"] == true
	}
	s.db.mu.Unlock()
	if inUse || !s.rt.bridges[bridge] {
		return
	}
	if pl, ok := s.host.(PortLister); ok {
		if ports, err := pl.BridgePorts(ctx, bridge); err == nil && len(ports) > 0 {
			s.logf("xapid: keeping bridge %s: other interfaces still present %v", bridge, ports)
			return
		}
	}
	if err := s.host.RemoveBridge(ctx, bridge); err != nil {
		s.logf("xapid: removing bridge %s: %v", bridge, err)
	}
	delete(s.rt.bridges, bridge)
}

// failPlug aborts a call whose plug failed: an API error as it is, a dom0
// failure as INTERNAL_ERROR.
func failPlug(what string, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		panic(ae)
	}
	fail(ErrInternalError, what+": "+err.Error())
}
