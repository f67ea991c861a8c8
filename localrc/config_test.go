package localrc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"xenlab/secret"
)

const minimalLab = `
lab = "devstack"
host "xs1" {
  xapi_url      = "https://192.168.1.10"
  xapi_password = env("XENAPI_PASSWORD")
}
`

// TestDefaults checks that a minimal lab file gets devstack's defaults.
func TestDefaults(t *testing.T) {
	t.Setenv("XENAPI_PASSWORD", "pw")
	dir := t.TempDir()
	cfg, err := Parse(filepath.Join(dir, "lab.hcl"), []byte(minimalLab))
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	wantHost := Host{
		Name: "xs1", XAPIURL: "https://192.168.1.10", XAPIUser: "root", XAPIPassword: secret.New("pw"),
		SSHHost: "192.168.1.10", SSHPort: 22, SSHUser: "root",
		KnownHosts: filepath.Join(home, ".ssh/known_hosts"),
	}
	if len(cfg.Hosts) != 1 || cfg.Hosts[0] != wantHost {
		t.Errorf("hosts = %+v\nwant %+v", cfg.Hosts, wantHost)
	}
	if got := cfg.Hosts[0].SSHAddr(); got != "192.168.1.10:22" {
		t.Errorf("SSHAddr = %q", got)
	}
	wantNet := Networks{VM: "OpenStack VM Network", Public: "OpenStack Public Network", Integration: "OpenStack VM Integration Network", IntegrationBridge: BridgePlaceholder}
	if cfg.Networks != wantNet {
		t.Errorf("networks = %+v", cfg.Networks)
	}
	d := cfg.DomU
	if d.Name != "DevStackOSDomU" || d.Memory != 4*GiB || d.VCPUs != 2 || d.Disk != 8*GiB || d.XVDB != 0 ||
		d.Template != "jeos_template_for_devstack" || d.Password.Reveal() != "secrete" || d.SSHUser != "stack" || d.SSHPort != 22 {
		t.Errorf("domu = %+v", d)
	}
	if d.ManagementIP.String() != "dhcp" || d.VMIP.String() != "10.255.255.255/24" || d.PublicIP.String() != "172.24.4.10/24" {
		t.Errorf("ips = %v %v %v", d.ManagementIP, d.VMIP, d.PublicIP)
	}
	if d.VMIP.Netmask() != "255.255.255.0" {
		t.Errorf("netmask = %q", d.VMIP.Netmask())
	}
	if d.Devices != (Devices{0, 1, 2, 3}) {
		t.Errorf("devices = %+v", d.Devices)
	}
	if d.Ubuntu != (Ubuntu{Release: "precise", Arch: "amd64", MirrorHost: "archive.ubuntu.com", MirrorDir: "/ubuntu", IP: IPConfig{DHCP: true}}) {
		t.Errorf("ubuntu = %+v", d.Ubuntu)
	}
	q := cfg.Quantum
	if q.Plugin != "openvswitch" || q.TenantNetworkType != "vlan" || q.NetworkVLANRanges() != "physnet1:1000:1024" {
		t.Errorf("quantum = %+v", q)
	}
	if q.Dom0Agent != (Agent{Name: "q-agt"}) || q.DomUAgent != (Agent{Name: "q-domua", IntegrationBridge: "br-int", PhysicalBridge: "br-eth1", PhysicalInterface: "eth1"}) {
		t.Errorf("agents = %+v %+v", q.Dom0Agent, q.DomUAgent)
	}
	ds := cfg.Devstack
	if ds.Repo != DefaultDevstackRepo || ds.Branch != "havana-eol" || ds.BaseServices != nil || !reflect.DeepEqual(ds.EnabledServices, DefaultEnabledServices) || len(ds.Extra) != 0 {
		t.Errorf("devstack = %+v", ds)
	}
	if line := ds.ServicesLine(); line != strings.Join(HavanaServices, ",")+",quantum,q-svc,q-agt,q-dhcp,q-l3,q-meta,q-domua,-n-net" {
		t.Errorf("services line = %s", line)
	}
	base := Devstack{BaseServices: []string{"key", "n-net"}, EnabledServices: []string{"q-svc", "-n-net"}}
	if line, eff := base.ServicesLine(), strings.Join(base.Effective(), ","); line != "key,n-net,q-svc,-n-net" || eff != "key,q-svc" {
		t.Errorf("with base_services: line %s, effective %s", line, eff)
	}
	eff := strings.Join(ds.Effective(), ",")
	if strings.Contains(eff, "n-net") || !strings.Contains(eff, "q-domua") || !strings.HasPrefix(eff, "g-api,") {
		t.Errorf("effective services = %s", eff)
	}
	if cfg.Timeouts != (Timeouts{Step: 20 * time.Minute, Stack: time.Hour, Boot: 10 * time.Minute}) {
		t.Errorf("timeouts = %+v", cfg.Timeouts)
	}
	if cfg.Lab != "devstack" || cfg.Dir != dir {
		t.Errorf("lab %q dir %q", cfg.Lab, cfg.Dir)
	}
}

// TestFullFile loads a file that sets nearly everything, with env() and file().
func TestFullFile(t *testing.T) {
	t.Setenv("XENLAB_TEST_PASSWORD", "xapi-secret")
	cfg, err := Load("testdata/config/full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/config")
	h1, h2 := cfg.Hosts[0], cfg.Hosts[1]
	if h1.XAPIPassword.Reveal() != "xapi-secret" || h1.SSHPort != 2222 || h1.SSHKey != filepath.Join(abs, "keys/id_ed25519") || h1.KnownHosts != filepath.Join(abs, "lab_known_hosts") {
		t.Errorf("host 1 = %+v", h1)
	}
	if !strings.HasPrefix(h1.XAPIFingerprint, "sha256:AB:CD:EF:01") || len(h1.XAPIFingerprint) != len("sha256:")+32*3-1 {
		t.Errorf("fingerprint = %q", h1.XAPIFingerprint)
	}
	if h2.XAPIPassword.Reveal() != "fallback" || h2.SSHPassword.Reveal() != "dom0-secret" || h2.SSHAddr() != "192.168.1.11:22" {
		t.Errorf("host 2 = %+v (%q %q)", h2, h2.XAPIPassword.Reveal(), h2.SSHPassword.Reveal())
	}
	if cfg.Networks.IntegrationBridge != BridgeAttach || cfg.Networks.Management != "Pool-wide network associated with eth0" {
		t.Errorf("networks = %+v", cfg.Networks)
	}
	// with attach, the placeholder device may reuse a number
	if cfg.DomU.Devices.Integration != 1 || cfg.DomU.Memory != 3*GiB || cfg.DomU.Disk != 20*GiB || cfg.DomU.VMIP.Netmask() != "255.255.0.0" {
		t.Errorf("domu = %+v", cfg.DomU)
	}
	if cfg.DomU.Ubuntu.Preseed != "d-i debian-installer/locale string en_US\n" || cfg.DomU.Ubuntu.Release != "raring" {
		t.Errorf("ubuntu = %+v", cfg.DomU.Ubuntu)
	}
	if cfg.Quantum.VLANs != (VLANRange{2000, 2100}) || cfg.Quantum.DomUAgent.PhysicalBridge != "br-eth2" || cfg.Quantum.DomUAgent.IntegrationBridge != "br-int" {
		t.Errorf("quantum = %+v", cfg.Quantum)
	}
	want := []Setting{
		{Name: "ADMIN_PASSWORD", Value: "s3cret", Sensitive: true},
		{Name: "EXTRA_OPTS", Array: []string{"a=b", "c=d e"}, IsArray: true},
		{Name: "MULTI_HOST", Value: "1"},
		{Name: "Q_USE_SECGROUP", Value: "False"},
	}
	if !reflect.DeepEqual(cfg.Devstack.Extra, want) {
		t.Errorf("extra = %#v", cfg.Devstack.Extra)
	}
	if cfg.Timeouts.Stack != 90*time.Minute || cfg.Timeouts.Step != 20*time.Minute {
		t.Errorf("timeouts = %+v", cfg.Timeouts)
	}
}

func TestEnvFunction(t *testing.T) {
	lab := func(expr string) string {
		return `lab = "l"
host "h" {
  xapi_url      = "https://h"
  xapi_password = ` + expr + `
}
`
	}
	t.Setenv("XENLAB_T_SET", "from-env")
	t.Setenv("XENLAB_T_EMPTY", "")
	cases := []struct{ expr, want, err string }{
		{`env("XENLAB_T_SET")`, "from-env", ""},
		{`env("XENLAB_T_SET", "d")`, "from-env", ""},
		{`env("XENLAB_T_EMPTY", "d")`, "", ""},
		{`env("XENLAB_T_UNSET", "d")`, "d", ""},
		{`env("XENLAB_T_UNSET")`, "", `lab.hcl:4:19: error: Invalid host.xapi_password; Call to function "env" failed: environment variable XENLAB_T_UNSET is not set`},
		{`env("")`, "", "must not be empty"},
		{`env("A", "b", "c")`, "", "at most one default"},
	}
	for _, c := range cases {
		cfg, err := Parse(filepath.Join(t.TempDir(), "lab.hcl"), []byte(lab(c.expr)))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.expr, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := cfg.Hosts[0].XAPIPassword.Reveal(); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "pw"), []byte("  p4ss  "), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `lab = "l"
host "h" {
  xapi_url      = "https://h"
  xapi_password = trimspace(file("sub/pw"))
  ssh_password  = file("sub/pw")
}
`
	// Parse relative to the lab file's directory, wherever the process runs.
	cfg, err := Parse(filepath.Join(dir, "lab.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hosts[0].XAPIPassword.Reveal() != "p4ss" || cfg.Hosts[0].SSHPassword.Reveal() != "  p4ss  " {
		t.Errorf("file() gave %q / %q", cfg.Hosts[0].XAPIPassword.Reveal(), cfg.Hosts[0].SSHPassword.Reveal())
	}
	_, err = Parse(filepath.Join(dir, "lab.hcl"), []byte(strings.Replace(src, `file("sub/pw")`, `file("sub/nope")`, 1)))
	var de *DiagError
	if !errors.As(err, &de) || len(de.Diags.Errs()) != 1 {
		t.Fatalf("want one error, got %v", err)
	}
	if got := de.Error(); !strings.HasPrefix(got, filepath.Join(dir, "lab.hcl")+":4:29: error: Invalid host.xapi_password;") || !strings.Contains(got, `"sub/nope"`) {
		t.Errorf("diagnostic = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("want a wrapped ErrNotExist, got %v", err)
	}
}

func TestCrossFieldChecks(t *testing.T) {
	base := minimalLab
	cases := []struct{ extra, want string }{
		{`networks { integration = "OpenStack VM Network" }`, `"OpenStack VM Network" is also networks.vm`},
		{`networks { management = "OpenStack Public Network" }`, `is also networks.public`},
		{`domu { memory = "0" }`, "memory is 0; it must be at least 512MiB"},
		{`domu { memory = "256MiB" }`, "at least 512MiB"},
		{`domu { vcpus = 0 }`, "vcpus must be 1-64"},
		{"domu {\n devices {\n public = 16\n }\n}", "must be 0-15"},
		{"domu {\n devices {\n integration = 0\n }\n}", "device 0 is already used by domu.devices.management"},
		{`quantum { vlan_range = "0:10" }`, "within 1-4094"},
		{`quantum { vlan_range = "10" }`, `"min:max"`},
		{`quantum { plugin = "linuxbridge" }`, `plugin must be "openvswitch"`},
		{"quantum {\n agent \"q-agt\" {\n physical_interface = \"eth1\"\n }\n}", "applies to q-domua only"},
		{"quantum {\n agent \"q-domua\" {\n physical_interface = \"eth3\"\n }\n}", `physical_interface is "eth3", but domU's interface on the VM network is eth1`},
		{"domu {\n devices {\n vm = 5\n }\n}", `physical_interface is "eth1", but domU's interface on the VM network is eth5`},
		{"domu {\n template_from = \"existing\"\n rebuild_template = true\n}", `rebuild_template = true rebuilds the lab's own template`},
		{"quantum {\n agent \"q-domua\" {}\n agent \"q-domua\" {}\n}", `agent "q-domua" is already defined`},
		{"quantum {\n agent \"q-domua\" {\n integration_bridge = \"\"\n }\n}", "must name a device in domU"},
		{"host \"xs2\" {\n xapi_url = \"https://192.168.1.10\"\n xapi_password = \"p\"\n}", "uses the same xapi_url as host"},
		{`devstack { branch = "" }`, "branch"},
		{`devstack { extra = ["x"] }`, "extra must be a map"},
		{`devstack { extra = { A = { b = 1 } } }`, "must be a string or a list of strings"},
		{`timeouts { boot = "0s" }`, "not positive"},
	}
	t.Setenv("XENAPI_PASSWORD", "pw")
	for _, c := range cases {
		_, err := Parse("lab.hcl", []byte(base+c.extra+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.extra, err, c.want)
		}
	}
	// and attach mode frees the placeholder's device number
	if _, err := Parse("lab.hcl", []byte(base+"networks {\n integration_bridge = \"attach\"\n}\ndomu {\n devices {\n integration = 0\n }\n}\n")); err != nil {
		t.Errorf("attach mode: %v", err)
	}
}
