package sim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/xapid"
)

// TestPeerNetwrapUnderPython2 runs third-party-shaped code against the
// simulator unchanged: a dom0 plugin in the style of neutron's 2013 netwrap
// (Python 2 syntax, `except OSError, e`, gettext.install(..., unicode=1))
// and a domU-side caller in the style of neutron-rootwrap-xen-dom0
// (ConfigParser rootwrap.conf, XenAPI.Session(url), get_this_host,
// host.call_plugin), both under Python 2 as on XenServer 6.2, over xapi's
// plain-HTTP URL. The plugin is installed and its effects read back with
// OpenSSH's ssh.
func TestPeerNetwrapUnderPython2(t *testing.T) {
	py2, err := xapid.Python2()
	if err != nil {
		t.Skipf("the 2013-style plugin and caller need Python 2 and %v", err)
	}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("OpenSSH's ssh is not installed (Debian openssh-client)")
	}
	// 6.2, and 8.2, whose dom0 also runs plugins under Python 2.7.
	for _, version := range []string{"6.2", "8.2"} {
		t.Run(version, func(t *testing.T) { testPeerNetwrap(t, version, py2, sshBin) })
	}
}

func testPeerNetwrap(t *testing.T, version, py2, sshBin string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	h, err := Start(ctx, Options{Dir: dir, Version: version, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()

	sshHost, sshPort, _ := net.SplitHostPort(ep.Dom0SSH)
	dom0 := func(stdin, command string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, sshBin, "-F", "/dev/null", "-p", sshPort, "-i", ep.SSHKey,
			"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile="+ep.KnownHosts,
			"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
			"root@"+sshHost, command)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ssh dom0 %q: %v\n%s", command, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	plugin, err := os.ReadFile(filepath.Join("testdata", "peer", "netwrap"))
	if err != nil {
		t.Fatal(err)
	}
	dom0(string(plugin), "cat > /etc/xapi.d/plugins/netwrap && chmod 755 /etc/xapi.d/plugins/netwrap")

	pw, err := os.ReadFile(ep.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "rootwrap.conf")
	body := "[DEFAULT]\nfilters_path=/etc/neutron/rootwrap.d\n\n[xenapi]\nxenapi_connection_url=" + ep.XAPIHTTPURL +
		"\nxenapi_connection_username=root\nxenapi_connection_password=" + strings.TrimSpace(string(pw)) + "\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	caller, _ := filepath.Abs(filepath.Join("testdata", "peer", "rootwrap-xen-dom0"))
	xenapiDir, _ := filepath.Abs(filepath.Join("xapid", "pyhelpers")) // the XenAPI.py a domU would have
	wrap := func(stdin string, argv ...string) (string, string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, py2, append([]string{caller, conf}, argv...)...)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+xenapiDir)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	ok := func(stdin string, argv ...string) string {
		t.Helper()
		out, errs, code := wrap(stdin, argv...)
		if code != 0 {
			t.Fatalf("rootwrap %v: exit %d\n%s", argv, code, errs)
		}
		return out
	}

	if out := ok("", "ovs-vsctl", "show"); !strings.Contains(out, `Bridge xenbr0`) || !strings.Contains(out, "ovs_version") {
		t.Fatalf("show: %q", out)
	}
	ok("", "ovs-vsctl", "add-br", "br-peer")
	ok("", "ovs-vsctl", "add-port", "br-peer", "peer0", "--", "set", "Interface", "peer0", "type=internal")
	ok("", "ovs-vsctl", "set", "port", "peer0", "tag=4095")
	ok("priority=7,in_port=1,actions=drop\n", "ovs-ofctl", "add-flows", "br-peer", "-")
	if out := ok("", "ovs-ofctl", "dump-flows", "br-peer"); !strings.Contains(out, "priority=7,in_port=1 actions=drop") {
		t.Fatalf("dump-flows: %q", out)
	}
	_, errs, code := wrap("", "rm", "-rf", "/etc")
	if code != 96 || !strings.Contains(errs, "XENAPI_PLUGIN_FAILURE") || !strings.Contains(errs, "PluginError") ||
		!strings.Contains(errs, "Dom0 execution of 'rm' is not permitted") {
		t.Fatalf("refused command: exit %d, stderr %q", code, errs)
	}

	if got := dom0("", "ovs-vsctl list-ports br-peer"); got != "peer0" {
		t.Fatalf("ports of br-peer over ssh: %q", got)
	}
	if got := dom0("", "ovs-vsctl get port peer0 tag"); got != "4095" {
		t.Fatalf("tag of peer0 over ssh: %q", got)
	}
	if got := dom0("", "ovs-ofctl dump-flows br-peer"); !strings.Contains(got, "priority=7,in_port=1 actions=drop") {
		t.Fatalf("flows over ssh: %q", got)
	}
	if got := dom0("", "test -d /etc/xapi.d && echo kept"); got != "kept" {
		t.Fatalf("the refused rm ran: %q", got)
	}
	if got := dom0("", "python -c 'import sys; print(sys.version_info[0])'"); got != "2" {
		t.Errorf("dom0's python is not Python 2: %q", got)
	}
}
