package templates

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/localrc"
)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rendered %s differs from %s:\n%s", name, golden, got)
	}
}

func sampleLocalrc() Localrc {
	return Localrc{
		Lab: "lab", XAPIURL: "https://192.0.2.10", XAPIUser: "root", XAPIPassword: "it's a secret",
		Services: "g-api,key,q-svc,q-agt,q-dhcp,q-l3,q-meta,q-domua", Plugin: "openvswitch",
		VLANRanges: "physnet1:1000:1024", PhysicalNetwork: "physnet1", FlatBridge: "xapi1",
		IntegrationBridge: "xapi2", StackUser: "stack",
		Extra: []localrc.Setting{
			{Name: "ADMIN_PASSWORD", Value: "a$b`c", Sensitive: true},
			{Name: "GREETING", Value: "hello\nworld \\$(rm -rf /) \\\"quoted\\\" \\`x\\`"},
			{Name: "IMAGE_URLS", Array: []string{"http://x/a.img", "it's"}, IsArray: true},
			{Name: "SCREEN_LOGDIR", Value: "${DEST}/logs"},
			{Name: "DB_URL", Value: "mysql://root:${ADMIN_PASSWORD}@127.0.0.1/nova", Sensitive: true},
		},
	}
}

// TestGoldenAgentFiles: the files the agents step writes, as golden files
// (go test -update rewrites them).
func TestGoldenAgentFiles(t *testing.T) {
	lrc, err := RenderLocalrc(sampleLocalrc())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "localrc.golden", lrc)
	a := Agent{VLANRanges: "physnet1:1000:1024", PhysicalNetwork: "physnet1", TenantNetworkType: "vlan", IntegrationBridge: "xapi2",
		PhysicalBridge: "xapi1", RootHelper: RootHelper}
	qagt, err := RenderQAgt(a)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "q-agt.ini.golden", qagt)
	a.IntegrationBridge, a.PhysicalBridge, a.RootHelper = "br-int", "br-eth1", DomURootHelper
	qdomua, err := RenderQDomUA(a)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "q-domua.ini.golden", qdomua)
	rw, err := RenderRootwrap(Rootwrap{XAPIURL: "https://192.0.2.10", XAPIUser: "root", XAPIPassword: "it's a secret"})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "rootwrap.conf.golden", rw)
	w, err := RenderWrapper(Wrapper{Dir: "/opt/stack/devstack", Log: "/opt/stack/logs/xenlab-stack.log", Marker: "/opt/stack/xenlab-stack.done"})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "xenlab-stack.sh.golden", w)
}

// TestLocalrcReadsBackInBash: bash reads every value of the rendered
// localrc back as written (quotes, $, backquotes, a line break), runs
// nothing, and sets the credentials before the other settings.
func TestLocalrcReadsBackInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	lrc, err := RenderLocalrc(sampleLocalrc())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "localrc")
	if err := os.WriteFile(f, lrc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bash, "-c", `DEST=/opt/stack; source "$1" && printf '%s|' "$XENAPI_PASSWORD" "$ADMIN_PASSWORD" "$GREETING" "${IMAGE_URLS[1]}" "$OVS_VLAN_RANGES" "$SCREEN_LOGDIR" "$DB_URL"`, "x", f).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "it's a secret|a$b`c|hello\nworld $(rm -rf /) \"quoted\" `x`|it's|physnet1:1000:1024|/opt/stack/logs|mysql://root:a$b`c@127.0.0.1/nova|"
	if string(out) != want {
		t.Errorf("bash read back %q, want %q", out, want)
	}
	s := string(lrc)
	if strings.Index(s, "ADMIN_PASSWORD=") > strings.Index(s, "VIRT_DRIVER=") {
		t.Errorf("a credential comes after the other settings:\n%s", s)
	}
}

// TestAgentFilesRefuseWhatAnIniCannotHold: a line break or blanks around a
// value are refused, and the password is never quoted in the error.
func TestAgentFilesRefuseWhatAnIniCannotHold(t *testing.T) {
	if _, err := RenderQAgt(Agent{VLANRanges: "physnet1:1000:1024", PhysicalNetwork: "physnet1", TenantNetworkType: "vlan",
		IntegrationBridge: "xapi2\n[agent]", PhysicalBridge: "xapi1", RootHelper: RootHelper}); err == nil {
		t.Error("a bridge name with a line break was rendered")
	}
	for _, pw := range []string{" secret-pw", "secret\npw", ""} {
		_, err := RenderRootwrap(Rootwrap{XAPIURL: "http://h", XAPIUser: "root", XAPIPassword: pw})
		if err == nil {
			t.Errorf("password %q was rendered", pw)
		} else if pw != "" && strings.Contains(err.Error(), strings.TrimSpace(pw)[:6]) {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	if _, err := RenderLocalrc(Localrc{}); err == nil {
		t.Error("an empty localrc was rendered")
	}
	l := sampleLocalrc()
	l.Extra = []localrc.Setting{{Name: "A;rm", Value: "x"}}
	if _, err := RenderLocalrc(l); err == nil {
		t.Error("a setting name that is not a shell variable was rendered")
	}
	// What would end the double quotes or run a command when devstack
	// reads localrc is refused, and the error does not quote it.
	for _, v := range []string{`a"; rm -rf / #`, "`id`", "$(id)", "$((1+1))", "${A/x/y}", "${A:-$(id)}", "${A", "${1}", `--password=Zq"9`} {
		l.Extra = []localrc.Setting{{Name: "EXTRA_OPTS", Value: v}}
		_, err := RenderLocalrc(l)
		if err == nil {
			t.Errorf("EXTRA_OPTS = %q was rendered", v)
		} else if strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "Zq") {
			t.Errorf("the error quotes the value: %v", err)
		}
	}
	for _, v := range []string{"$DEST/x", "${DEST}", "${A:-${B:-c}}", `\$(id) \" \` + "`", "cost: 5$", "${A:+--flag}"} {
		l.Extra = []localrc.Setting{{Name: "EXTRA_OPTS", Value: v}}
		if _, err := RenderLocalrc(l); err != nil {
			t.Errorf("EXTRA_OPTS = %q: %v", v, err)
		}
	}
}

// TestGoldenInterfaces: domU's /etc/network/interfaces with devstack's
// defaults (management by DHCP, the VM and public networks static).
func TestGoldenInterfaces(t *testing.T) {
	got, err := RenderInterfaces([]Interface{
		{Device: 2, Static: true, Address: "172.24.4.10", Netmask: "255.255.255.0"},
		{Device: 1, Static: true, Address: "10.255.255.255", Netmask: "255.255.255.0"},
		{Device: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "interfaces.golden", got)
	for _, bad := range [][]Interface{
		{{Device: 0}, {Device: 0}},
		{{Device: 1, Static: true, Address: "10.0.0.1\nauto eth9", Netmask: "255.0.0.0"}},
		{{Device: 1, Static: true, Address: "10.0.0.1"}},
	} {
		if _, err := RenderInterfaces(bad); err == nil {
			t.Errorf("RenderInterfaces(%+v) succeeded", bad)
		}
	}
}
