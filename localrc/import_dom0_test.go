package localrc

import (
	"regexp"
	"strings"
	"testing"
)

// TestImportDom0Settings: settings of dom0's side of devstack (its
// install_os_domU.sh and Ubuntu template script) never land in domU's
// pass-through map: each is mapped to its lab field or warned about by
// name.
func TestImportDom0Settings(t *testing.T) {
	names := []string{"NOVA_ZIPBALL_URL", "NEUTRON_ZIPBALL_URL", "UBUNTU_INST_IFACE", "UBUNTU_INST_NAMESERVERS",
		"UBUNTU_INST_GATEWAY", "UBUNTU_INST_TEMPLATE_NAME", "UBUNTU_INST_LOCALE", "UBUNTU_INST_KEYBOARD",
		"UBUNTU_INST_BRIDGE_OR_NET_NAME", "VDI_MB"}
	var src strings.Builder
	for _, n := range names {
		src.WriteString(n + "=somevalue\n")
	}
	src.WriteString("NETINSTALLIP=dhcp\nUBUNTU_INST_IP=10.0.0.5\nUBUNTU_INST_NETMASK=255.255.255.0\n")
	out, warns, err := Import("localrc", []byte(src.String()))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	joined := strings.Join(warns, "\n")
	for _, n := range append(names, "NETINSTALLIP") {
		if regexp.MustCompile(`(?m)^\s*"?` + n + `"?\s*=`).Match(out) {
			t.Errorf("%s is passed through to domU:\n%s", n, out)
		}
	}
	for _, n := range names {
		if !regexp.MustCompile(`(?m)^localrc:\d+: ` + n + `: dropped: dom0-side: `).MatchString(joined) {
			t.Errorf("no warning naming %s in\n%s", n, joined)
		}
	}
	if !strings.Contains(string(out), `ip = "dhcp"`) || !strings.Contains(joined, "NETINSTALLIP: \"dhcp\": the Ubuntu install uses DHCP") {
		t.Errorf("NETINSTALLIP=dhcp is not domu.ubuntu.ip = \"dhcp\":\n%s\n%s", out, joined)
	}

	out, _, err = Import("localrc", []byte("NETINSTALLIP=static\nUBUNTU_INST_IP=10.0.0.5\nUBUNTU_INST_NETMASK=255.255.0.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `ip = "10.0.0.5/16"`) {
		t.Errorf("a static install does not keep UBUNTU_INST_IP:\n%s", out)
	}
}
