package localrc

import (
	"strings"
	"testing"
)

// TestImportVLANRangeSources: ML2_VLAN_RANGES (Icehouse's ml2 plugin) is the
// VLAN range, as OVS_VLAN_RANGES is; with neither, TENANT_VLAN_RANGE is.
func TestImportVLANRangeSources(t *testing.T) {
	for _, c := range []struct{ src, physnet, vlans string }{
		{"Q_PLUGIN=ml2\nML2_VLAN_RANGES=physnet2:500:599\n", "physnet2", "500:599"},
		{"ML2_VLAN_RANGES=physnet3:10:20\n", "physnet3", "10:20"},
		{"Q_PLUGIN=ml2\nOVS_VLAN_RANGES=physnet1:1:2\nML2_VLAN_RANGES=physnet4:30:40\n", "physnet4", "30:40"},
		{"PHYSICAL_NETWORK=physnet5\nTENANT_VLAN_RANGE=2000:2999\n", "physnet5", "2000:2999"},
	} {
		out, warns, err := Import("localrc", []byte(c.src))
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), map[string]string{"XENAPI_PASSWORD": "x"}))
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.src, err, out)
		}
		if cfg.Quantum.PhysicalNetwork != c.physnet || cfg.Quantum.VLANs.String() != c.vlans {
			t.Errorf("%q: physical_network %q, vlan_range %q; want %q, %q\n%s\n%q", c.src, cfg.Quantum.PhysicalNetwork, cfg.Quantum.VLANs, c.physnet, c.vlans, out, warns)
		}
		for _, s := range cfg.Devstack.Extra {
			if strings.Contains(s.Name, "VLAN_RANGE") {
				t.Errorf("%q: %s passed through as well", c.src, s.Name)
			}
		}
	}
}

// TestImportManagementBridgeOrName: MGT_BRIDGE_OR_NET_NAME of a bridge's
// form becomes networks.management_bridge (said in a warning), any other
// value networks.management; a lab file cannot give both.
func TestImportManagementBridgeOrName(t *testing.T) {
	env := testEnv(t.TempDir(), map[string]string{"XENAPI_PASSWORD": "x"})
	out, warns, err := Import("localrc", []byte("MGT_BRIDGE_OR_NET_NAME=xenbr0\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse("lab.hcl", out, env)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cfg.Networks.ManagementBridge != "xenbr0" || cfg.Networks.Management != "" {
		t.Errorf("xenbr0: management %q, management_bridge %q\n%s", cfg.Networks.Management, cfg.Networks.ManagementBridge, out)
	}
	if !strings.Contains(strings.Join(warns, "\n"), `MGT_BRIDGE_OR_NET_NAME: "xenbr0" has the form of a dom0 bridge`) {
		t.Errorf("no warning about the choice: %q", warns)
	}
	out, _, err = Import("localrc", []byte("MGT_BRIDGE_OR_NET_NAME=\"Pool-wide network associated with eth0\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = parse("lab.hcl", out, env)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cfg.Networks.Management != "Pool-wide network associated with eth0" || cfg.Networks.ManagementBridge != "" {
		t.Errorf("name-label: management %q, management_bridge %q", cfg.Networks.Management, cfg.Networks.ManagementBridge)
	}
	_, err = parse("lab.hcl", []byte(`lab = "x"
host "h" {
  xapi_url      = "https://10.0.0.1"
  xapi_password = "p"
}
networks {
  management        = "Pool-wide network associated with eth0"
  management_bridge = "xenbr0"
}
`), env)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("management and management_bridge together: %v", err)
	}
}
