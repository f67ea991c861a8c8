package ovs

// colKind is the OVSDB type of a modelled column.
type colKind int

const (
	kString    colKind = iota // string, "" by default
	kOptString                // optional string, [] when unset
	kOptInt                   // optional integer, [] when unset
	kIntSet                   // set of integers
	kMap                      // string-to-string map
	kRefs                     // set of row references (read-only here)
)

// column describes one modelled column of a table.
type column struct {
	name     string
	kind     colKind
	readOnly bool
	min, max int64 // integer range when max > 0
}

// tableSchema is the modelled part of one OVSDB table of vswitch.ovsschema,
// plus the fixed defaults of the columns the model does not track, so that
// `list` prints every column as real ovs-vsctl does.
type tableSchema struct {
	name  string
	cols  []column
	fixed map[string]string
}

var (
	schemaOpenVSwitch = &tableSchema{name: "Open_vSwitch", cols: []column{
		{name: "bridges", kind: kRefs, readOnly: true},
		{name: "external_ids", kind: kMap},
		{name: "other_config", kind: kMap},
		{name: "ovs_version", kind: kOptString},
	}}
	schemaBridge = &tableSchema{name: "Bridge", cols: []column{
		{name: "datapath_type", kind: kString},
		{name: "external_ids", kind: kMap},
		{name: "fail_mode", kind: kOptString},
		{name: "name", kind: kString, readOnly: true},
		{name: "other_config", kind: kMap},
		{name: "ports", kind: kRefs, readOnly: true},
	}}
	schemaPort = &tableSchema{name: "Port", cols: []column{
		{name: "external_ids", kind: kMap},
		{name: "interfaces", kind: kRefs, readOnly: true},
		{name: "name", kind: kString, readOnly: true},
		{name: "other_config", kind: kMap},
		{name: "tag", kind: kOptInt, min: 0, max: 4095},
		{name: "trunks", kind: kIntSet, min: 0, max: 4095},
		{name: "vlan_mode", kind: kOptString},
	}, fixed: map[string]string{
		"bond_active_slave": "[]", "bond_downdelay": "0", "bond_fake_iface": "false",
		"bond_mode": "[]", "bond_updelay": "0", "cvlans": "[]", "fake_bridge": "false",
		"lacp": "[]", "mac": "[]", "protected": "false", "qos": "[]",
		"rstp_statistics": "{}", "rstp_status": "{}", "statistics": "{}", "status": "{}",
	}}
	schemaInterface = &tableSchema{name: "Interface", cols: []column{
		{name: "error", kind: kOptString, readOnly: true},
		{name: "external_ids", kind: kMap},
		{name: "mac_in_use", kind: kOptString, readOnly: true},
		{name: "name", kind: kString, readOnly: true},
		{name: "ofport", kind: kOptInt, readOnly: true},
		{name: "options", kind: kMap},
		{name: "other_config", kind: kMap},
		{name: "type", kind: kString},
	}, fixed: map[string]string{
		// Configuration columns at their defaults. The status columns
		// ovs-vswitchd fills from the device (admin_state, link_state,
		// link_speed, duplex, mtu, ifindex, statistics, status) are not
		// modelled.
		"bfd": "{}", "bfd_status": "{}", "cfm_fault": "[]", "cfm_fault_status": "[]",
		"cfm_flap_count": "[]", "cfm_health": "[]", "cfm_mpid": "[]", "cfm_remote_mpids": "[]",
		"cfm_remote_opstate": "[]", "ingress_policing_burst": "0", "ingress_policing_kpkts_burst": "0",
		"ingress_policing_kpkts_rate": "0", "ingress_policing_rate": "0", "lacp_current": "[]",
		"lldp": "{}", "mac": "[]", "mtu_request": "[]", "ofport_request": "[]",
	}}
	schemas = []*tableSchema{schemaOpenVSwitch, schemaBridge, schemaPort, schemaInterface}
)

func (t *tableSchema) column(name string) *column {
	for i := range t.cols {
		if t.cols[i].name == name {
			return &t.cols[i]
		}
	}
	return nil
}
