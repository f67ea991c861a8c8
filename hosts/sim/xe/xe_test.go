package xe

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"xenlab/hosts/sim/xapid"
)

// host is a simulated xapi on a MemHost with its local socket under a
// temporary dom0 root, and xe pointed at it as dom0's commands find it.
type host struct {
	t    *testing.T
	srv  *xapid.Server
	root string
	sess string
}

func newHost(t *testing.T, version string) *host {
	t.Helper()
	return newHostAt(t, version, t.TempDir())
}

func newHostAt(t *testing.T, version, root string) *host {
	t.Helper()
	srv, err := xapid.New(xapid.Options{Host: xapid.NewMemHost(root), Password: "pw", Logf: t.Logf,
		Seed: xapid.Seed{Address: "192.0.2.10", Version: version}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.ListenLocal(context.Background(), filepath.Join(root, xapid.LocalSocket)); err != nil {
		t.Fatal(err)
	}
	sess, err := srv.Call(context.Background(), "session.login_with_password", "root", "pw")
	if err != nil {
		t.Fatal(err)
	}
	return &host{t: t, srv: srv, root: root, sess: sess.(string)}
}

// xe runs xe's Main with args and returns stdout, stderr and the status.
func (h *host) xe(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "XENLAB_SIM_ROOT" {
			return h.root
		}
		return ""
	}
	code := Main(args, env, &out, &errb)
	return out.String(), errb.String(), code
}

func (h *host) ok(args ...string) string {
	h.t.Helper()
	out, errs, code := h.xe(args...)
	if code != 0 {
		h.t.Fatalf("xe %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (h *host) call(method string, params ...any) any {
	h.t.Helper()
	v, err := h.srv.Call(context.Background(), method, append([]any{h.sess}, params...)...)
	if err != nil {
		h.t.Fatalf("%s: %v", method, err)
	}
	return v
}

func (h *host) uuid(class, ref string) string {
	h.t.Helper()
	return h.call(class+".get_uuid", ref).(string)
}

// TestRecordsAndLists checks xe's output formats (cli_printer.ml): a
// record's first name padded on the right and the rest on the left to
// four more than the longest, `( RO)`/`( RW)`/`(MRW)` marks, maps as
// `k: v; k2: v2`, two blank lines after each record; --minimal the first
// field of each record joined by commas.
func TestRecordsAndLists(t *testing.T) {
	h := newHost(t, "6.2")
	net := h.call("network.create", map[string]any{"name_label": "OpenStack VM Network", "name_description": "",
		"MTU": "1500", "other_config": map[string]any{"a": "1", "b": "2"}}).(string)
	netUUID := h.uuid("network", net)
	bridge := h.call("network.get_bridge", net).(string)

	if got := h.ok("network-list", "name-label=OpenStack VM Network", "--minimal"); got != netUUID+"\n" {
		t.Fatalf("--minimal: %q, want %q", got, netUUID+"\n")
	}
	if got := h.ok("network-list", "name-label=No such network", "--minimal"); got != "\n" {
		t.Fatalf("--minimal of nothing: %q", got)
	}
	want := "uuid ( RO)                : " + netUUID + "\n" +
		"          name-label ( RW): OpenStack VM Network\n" +
		"    name-description ( RW): \n" +
		"              bridge ( RO): " + bridge + "\n\n\n"
	if got := h.ok("network-list", "uuid="+netUUID); got != want {
		t.Fatalf("network-list:\n%q\nwant\n%q", got, want)
	}
	if got := h.ok("network-param-get", "uuid="+netUUID, "param-name=other-config"); got != "a: 1; b: 2\n" {
		t.Fatalf("map: %q", got)
	}
	if got := h.ok("network-param-get", "uuid="+netUUID, "param-name=other-config", "param-key=b"); got != "2\n" {
		t.Fatalf("map key: %q", got)
	}
	if got := h.ok("network-list", "name-label=OpenStack VM Network", "params=bridge", "minimal=true"); got != bridge+"\n" {
		t.Fatalf("params=bridge: %q", got)
	}
	// Every network, in one line; selectors on map fields.
	all := strings.Split(strings.TrimSpace(h.ok("network-list", "--minimal")), ",")
	if len(all) != 2 {
		t.Fatalf("networks %v", all)
	}
	if got := h.ok("network-list", "other-config:a=1", "--minimal"); got != netUUID+"\n" {
		t.Fatalf("map selector: %q", got)
	}
	// param-list marks what can be written.
	pl := h.ok("network-param-list", "uuid="+netUUID)
	for _, line := range []string{"name-label ( RW): OpenStack VM Network", "other-config (MRW): a: 1; b: 2",
		"VIF-uuids (SRO): ", "tags (SRW): ", "MTU ( RW): 1500"} {
		if !strings.Contains(pl, line) {
			t.Errorf("param-list lacks %q:\n%s", line, pl)
		}
	}
	// Setting through param-set, a map key, and clearing it.
	h.ok("network-param-set", "uuid="+netUUID, "name-description=for VMs", "other-config:c=3")
	if got := h.ok("network-param-get", "uuid="+netUUID, "param-name=name-description"); got != "for VMs\n" {
		t.Fatalf("set: %q", got)
	}
	h.ok("network-param-clear", "uuid="+netUUID, "param-name=other-config")
	if got := h.ok("network-param-get", "uuid="+netUUID, "param-name=other-config"); got != "\n" {
		t.Fatalf("cleared: %q", got)
	}
	// A commma in a value is escaped in --minimal output.
	h.ok("network-param-set", "uuid="+netUUID, "name-label=a,b")
	if got := h.ok("network-list", "uuid="+netUUID, "params=name-label", "--minimal"); got != `a\,b`+"\n" {
		t.Fatalf("escaped: %q", got)
	}
}

// TestErrorsAsXeShowsThem: an unknown command, a missing parameter and a
// failed call print what xapi's CLI prints (xapi_cli.ml, cli_util.ml) and
// exit 1.
func TestErrorsAsXeShowsThem(t *testing.T) {
	h := newHost(t, "6.2")
	_, errs, code := h.xe("frobnicate")
	if code != 1 || errs != "Unknown command: frobnicate\nFor usage run: 'xe help'\n" {
		t.Fatalf("unknown: %d %q", code, errs)
	}
	_, errs, code = h.xe("vm-param-get", "uuid=x")
	if code != 1 || errs != "Required parameter not found: param-name\nFor usage run: 'xe help'\n" {
		t.Fatalf("missing: %d %q", code, errs)
	}
	_, errs, code = h.xe("vm-param-get", "uuid=no-such-uuid", "param-name=name-label")
	if code != 1 || errs != "The uuid you supplied was invalid.\ntype: VM\nuuid: no-such-uuid\n" {
		t.Fatalf("bad uuid: %d %q", code, errs)
	}
	_, errs, code = h.xe("vm-start", "vm=no such vm")
	if code != 1 || !strings.Contains(errs, "message: Failure: No matching VMs found") {
		t.Fatalf("no vm: %d %q", code, errs)
	}
	_, errs, code = h.xe("vm-shutdown", "vm=Control domain on host: "+h.call("host.get_name_label", h.srv.HostRef()).(string))
	if code != 1 || !strings.Contains(errs, "No matching VMs found") {
		t.Fatalf("dom0 is never selected: %d %q", code, errs)
	}
	_, errs, code = h.xe("network-create", "name-label=x=y", "MTU=1500")
	if code != 0 {
		t.Fatalf("network-create: %q", errs)
	}
	out, _, _ := h.xe("network-list", "name-label=x=y", "--minimal")
	if !regexp.MustCompile(`^[0-9a-f-]{36}\n$`).MatchString(out) {
		t.Fatalf("a value holding '=': %q", out)
	}
	if _, errs, code = h.xe("network-create", "name-label"); code != 0 {
		t.Fatalf("an empty value: %q", errs)
	}
	_, errs, code = h.xe("name-label=x")
	if code != 1 || errs != "Syntax error: command name is missing\nFor usage run: 'xe help'\n" {
		t.Fatalf("no command: %d %q", code, errs)
	}
}

// TestHelp lists the common commands and describes one.
func TestHelp(t *testing.T) {
	h := newHost(t, "6.2")
	out := h.ok("help")
	if !strings.HasPrefix(out, "Usage: xe <command> [-s server]") || !strings.Contains(out, "Common command list") ||
		!strings.Contains(out, "vm-install") || !strings.Contains(out, "network-list") {
		t.Fatalf("help:\n%s", out)
	}
	out = h.ok("help", "vif-create")
	if !strings.Contains(out, "reqd params     : device, network-uuid, vm-uuid") {
		t.Fatalf("help vif-create:\n%s", out)
	}
	if out = h.ok("help", "frob"); out != "Unknown command 'frob'\n" {
		t.Fatalf("help frob: %q", out)
	}
}

// TestDevstackInstallSequence runs the xe commands of devstack's
// tools/xen (havana-eol install_os_domU.sh, functions,
// install_ubuntu_template.sh, install-os-vpx.sh, uninstall-os-vpx.sh)
// against the simulated xapi and checks their effect through the API.
func TestDevstackInstallSequence(t *testing.T) {
	h := newHost(t, "6.2")
	sr := strings.TrimSpace(h.ok("sr-list", "name-label=Local storage", "--minimal"))
	if sr != h.uuid("SR", h.call("pool.get_default_SR", one(h.call("pool.get_all"))).(string)) {
		t.Fatalf("sr-list: %q", sr)
	}
	if got := strings.TrimSpace(h.ok("pool-list", "params=default-SR", "minimal=true")); got != sr {
		t.Fatalf("pool-list params=default-SR: %q", got)
	}
	mgmtNet := strings.TrimSpace(h.ok("pif-list", "management=true", "params=network-uuid", "minimal=true"))
	if got := strings.TrimSpace(h.ok("network-list", "uuid="+mgmtNet, "params=bridge", "minimal=true")); got != "xenbr0" {
		t.Fatalf("management bridge %q", got)
	}
	hostUUID := strings.TrimSpace(h.ok("host-list", "--minimal"))
	if got := h.ok("host-param-get", "param-name=cpu_info", "uuid="+hostUUID); !strings.Contains(got, "cpu_count: ") {
		t.Fatalf("cpu_info %q", got)
	}
	// install_ubuntu_template.sh: clone the builtin template, set it up.
	builtin := strings.TrimSpace(h.ok("template-list", "name-label="+xapid.UbuntuTemplateName, "--minimal"))
	tmpl := strings.TrimSpace(h.ok("vm-clone", "uuid="+builtin, "new-name-label=Ubuntu 12.04 for DevStack"))
	h.ok("template-param-set", "uuid="+tmpl, "other-config:install-methods=http", "other-config:debian-release=precise",
		"PV-args=console=hvc0")
	// install-os-vpx.sh: vm-install, VIFs, settings.
	vm := strings.TrimSpace(h.ok("vm-install", "template=Ubuntu 12.04 for DevStack", "new-name-label=DevStackOSDomU", "--minimal"))
	if h.call("VM.get_is_a_template", h.vmRef(vm)) != false || h.call("VM.get_name_description", h.vmRef(vm)) != "Installed via xe CLI" {
		t.Fatal("vm-install made a template")
	}
	vif := strings.TrimSpace(h.ok("vif-create", "vm-uuid="+vm, "network-uuid="+mgmtNet, "device=0"))
	h.ok("vm-param-set", "uuid="+vm, "other-config:os-vpx=true")
	h.ok("vm-param-set", "actions-after-reboot=Destroy", "uuid="+vm)
	h.ok("vm-memory-limits-set", "static-min=1024MiB", "static-max=1024MiB", "dynamic-min=1024MiB", "dynamic-max=1024MiB", "uuid="+vm)
	h.ok("vm-param-set", "uuid="+vm, "VCPUs-max=2")
	h.ok("vm-param-set", "uuid="+vm, "VCPUs-at-startup=2")
	ref := h.vmRef(vm)
	if h.call("VM.get_memory_static_max", ref) != int64(1<<30) || h.call("VM.get_actions_after_reboot", ref) != "destroy" ||
		h.call("VM.get_VCPUs_max", ref) != int64(2) || h.call("VM.get_other_config", ref).(map[string]string)["os-vpx"] != "true" {
		t.Fatal("settings not applied")
	}
	if got := strings.TrimSpace(h.ok("vm-param-get", "param-name=actions-after-reboot", "uuid="+vm)); got != "Destroy" {
		t.Fatalf("actions-after-reboot %q", got)
	}
	if got := strings.TrimSpace(h.ok("vif-list", "vm-uuid="+vm, "--minimal")); got != vif {
		t.Fatalf("vif-list %q", got)
	}
	pv := strings.TrimSpace(h.ok("vm-param-get", "param-name=PV-args", "uuid="+vm))
	h.ok("vm-param-set", "PV-args="+pv+" flat_network_bridge=xapi1", "uuid="+vm)
	_, errs, code := h.xe("vm-start", "vm=DevStackOSDomU", "on=no-such-host")
	if code != 1 || !strings.Contains(errs, "message: Failure: Host no-such-host not found") {
		t.Fatalf("vm-start on a missing host: %d %q", code, errs)
	}
	h.ok("vm-start", "vm=DevStackOSDomU", "on="+hostUUID)
	if h.call("VM.get_power_state", ref) != "Running" {
		t.Fatal("not started")
	}
	if got := strings.TrimSpace(h.ok("vm-list", "name-label=DevStackOSDomU", "params=dom-id", "minimal=true")); got != "1" {
		t.Fatalf("dom-id %q", got)
	}
	if got := strings.TrimSpace(h.ok("vm-list", "name-label=DevStackOSDomU", "power-state=halted", "--minimal")); got != "" {
		t.Fatalf("halted selector %q", got)
	}
	if got := strings.TrimSpace(h.ok("vm-list", "other-config:os-vpx=true", "--minimal")); got != vm {
		t.Fatalf("map selector %q", got)
	}
	// install_os_domU.sh: snapshot the halted VM, clone it into a template.
	h.ok("vm-shutdown", "vm=DevStackOSDomU", "force=true")
	snap := strings.TrimSpace(h.ok("vm-snapshot", "vm=DevStackOSDomU", "new-name-label=DevStackOSDomU_snapshot"))
	tpl := strings.TrimSpace(h.ok("snapshot-clone", "uuid="+snap, "new-name-label=template_for_devstack"))
	if got := strings.TrimSpace(h.ok("template-list", "name-label=template_for_devstack", "--minimal")); got != tpl {
		t.Fatalf("template-list %q", got)
	}
	// uninstall-os-vpx.sh / install_os_domU.sh: uninstall, with the disks.
	vdis := len(h.call("VDI.get_all").([]string))
	out := h.ok("vm-uninstall", "vm="+vm, "force=true")
	if !strings.HasPrefix(out, "The following items are about to be destroyed\nVM : "+vm+" (DevStackOSDomU)\nVDI: ") ||
		!strings.HasSuffix(out, "All objects destroyed\n") {
		t.Fatalf("vm-uninstall:\n%s", out)
	}
	if n := len(h.call("VDI.get_all").([]string)); n >= vdis {
		t.Fatalf("vm-uninstall kept the disks: %d VDIs, %d before", n, vdis)
	}
	h.ok("template-param-clear", "param-name=other-config", "uuid="+tmpl)
	h.ok("template-uninstall", "template-uuid="+tmpl, "force=true")
	if out, _, _ := h.xe("template-list", "name-label=Ubuntu 12.04 for DevStack", "--minimal"); out != "\n" {
		t.Fatalf("template left: %q", out)
	}
	// functions: a network made, attached, found by name and by bridge.
	net := strings.TrimSpace(h.ok("network-create", "name-label=OpenStack VM Network"))
	h.ok("network-attach", "uuid="+net, "host-uuid="+hostUUID)
	bridge := strings.TrimSpace(h.ok("network-list", "name-label=OpenStack VM Network", "params=bridge", "--minimal"))
	if got := strings.TrimSpace(h.ok("network-list", "bridge="+bridge, "--minimal")); got != net {
		t.Fatalf("by bridge %q", got)
	}
	// manage-vdi and install_os_domU.sh's extra disk: vdi-create, vbd-create.
	vdi := strings.TrimSpace(h.ok("vdi-create", "sr-uuid="+sr, "name-label=extra", "type=user", "virtual-size=1GiB"))
	vm2 := strings.TrimSpace(h.ok("vm-install", "template="+xapid.UbuntuTemplateName, "new-name-label=second"))
	vbd := strings.TrimSpace(h.ok("vbd-create", "vm-uuid="+vm2, "vdi-uuid="+vdi, "device=1"))
	if got := strings.TrimSpace(h.ok("vbd-list", "uuid="+vbd, "params=vdi-uuid", "--minimal")); got != vdi {
		t.Fatalf("vbd-list %q", got)
	}
	h.ok("vbd-destroy", "uuid="+vbd)
	h.ok("vdi-destroy", "uuid="+vdi)
}

func one(v any) string { return v.([]string)[0] }

func (h *host) vmRef(uuid string) string {
	h.t.Helper()
	return h.call("VM.get_by_uuid", uuid).(string)
}

// TestToolstackRestart: xe-toolstack-restart ends xapi's sessions, as a
// restarted xapi has none; the records stay.
func TestToolstackRestart(t *testing.T) {
	h := newHost(t, "6.2")
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "XENLAB_SIM_ROOT" {
			return h.root
		}
		return ""
	}
	if code := ToolstackRestart(nil, env, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := h.srv.Call(context.Background(), "VM.get_all", h.sess); err == nil || !strings.Contains(err.Error(), "SESSION_INVALID") {
		t.Fatalf("session survived the restart: %v", err)
	}
	if got := strings.TrimSpace(h.ok("host-list", "--minimal")); got == "" {
		t.Fatal("no host after the restart")
	}
}

// TestLongSocketPath: a host tree deeper than a unix socket address holds
// (108 bytes) still gets its socket, and xe reaches it (both through the
// directory's descriptor).
func TestLongSocketPath(t *testing.T) {
	root := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if len(filepath.Join(root, xapid.LocalSocket)) <= 108 {
		t.Fatal("the path is not long enough to test anything")
	}
	h := newHostAt(t, "6.2", root)
	if got := strings.TrimSpace(h.ok("host-list", "--minimal")); got != h.uuid("host", h.srv.HostRef()) {
		t.Fatalf("host-list %q", got)
	}
}
