package sim

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/ovs"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/secret"
)

// TestPortsAndLabFile: where the process may bind them (root here), xapi
// answers on 80 (HTTP) and 443 (HTTPS) of dom0's address and SSH on 22 in
// dom0 and the guests, as on a real host; posing as an unprivileged
// process, on free ports. The lab file says which, and xenlab's own client
// reaches xapi through it in both cases.
func TestPortsAndLabFile(t *testing.T) {
	for _, privileged := range []bool{true, false} {
		t.Run(fmt.Sprint("privileged=", privileged), func(t *testing.T) {
			if privileged && !mayBindPort(80) {
				t.Skip("this process may not bind ports 22, 80 and 443 (not root, ip_unprivileged_port_start above them)")
			}
			if !privileged {
				mayBind = func(int) bool { return false }
				t.Cleanup(func() { mayBind = mayBindPort })
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := t.TempDir()
			h, err := Start(ctx, Options{Dir: dir, OVS: ovs.ModeModel, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			ep := h.Endpoints()
			ip := h.state.dom0IP()
			_, sshPort, _ := net.SplitHostPort(ep.Dom0SSH)
			if privileged {
				if ep.XAPIURL != "https://"+ip+"/" || ep.XAPIHTTPURL != "http://"+ip+"/" || sshPort != "22" || ep.GuestSSHPort != 22 {
					t.Fatalf("not a real host's ports: %+v", ep)
				}
			} else {
				if strings.Count(ep.XAPIURL, ":") != 2 || strings.Count(ep.XAPIHTTPURL, ":") != 2 || sshPort == "22" || ep.GuestSSHPort != GuestSSHPort {
					t.Fatalf("unprivileged, yet on a real host's ports: %+v", ep)
				}
			}
			lab, err := os.ReadFile(ep.LabFile)
			if err != nil {
				t.Fatal(err)
			}
			wantNote := map[bool]string{true: "Ports are a real host's", false: "Ports are free ones"}[privileged]
			if !strings.Contains(string(lab), wantNote) || !strings.Contains(string(lab), "ssh_port = "+strconv.Itoa(ep.GuestSSHPort)) {
				t.Fatalf("lab file:\n%s", lab)
			}
			cfg, err := localrc.Load(filepath.Join(dir, "lab.hcl"))
			if err != nil {
				t.Fatalf("the lab file does not load: %v", err)
			}
			hc := cfg.Hosts[0]
			if hc.XAPIURL != ep.XAPIURL || hc.SSHAddr() != ep.Dom0SSH {
				t.Fatalf("lab file says xapi %s ssh %s, the host listens on %s and %s", hc.XAPIURL, hc.SSHAddr(), ep.XAPIURL, ep.Dom0SSH)
			}
			pw, _ := os.ReadFile(ep.PasswordFile)
			for url, fp := range map[string]string{ep.XAPIURL: ep.XAPIFingerprint, ep.XAPIHTTPURL: ""} {
				c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(string(pw)), Fingerprint: fp})
				if err != nil {
					t.Fatalf("%s: %v", url, err)
				}
				c.Close(ctx)
			}
		})
	}
}

// TestClientDropsMidCall: 100 clients that hang up in the middle of a call
// (half a request sent, or a whole one whose answer they do not wait for)
// leave the simulator serving.
func TestClientDropsMidCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ep := h.Endpoints()
	addr := strings.TrimSuffix(strings.TrimPrefix(ep.XAPIHTTPURL, "http://"), "/")
	if !strings.Contains(addr, ":") {
		addr += ":80"
	}
	body := `<?xml version="1.0"?><methodCall><methodName>event.from</methodName><params>` +
		`<param><value>OpaqueRef:nope</value></param><param><value><array><data><value>vm</value></data></array></value></param>` +
		`<param><value></value></param><param><value><double>30</double></value></param></params></methodCall>`
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	before := h.xapi.Calls()
	for i := range 100 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		part := req
		if i%2 == 0 {
			part = req[:len(req)-len(body)/2] // hang up mid-request
		}
		if _, err := conn.Write([]byte(part)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conn.Close()
	}
	pw, _ := os.ReadFile(ep.PasswordFile)
	c, err := xapi.Dial(ctx, xapi.Options{URL: ep.XAPIHTTPURL, User: "root", Password: secret.New(string(pw))})
	if err != nil {
		t.Fatalf("after 100 dropped calls: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.HostGetAll(ctx); err != nil {
		t.Fatalf("after 100 dropped calls: %v", err)
	}
	if h.xapi.Calls() == before {
		t.Fatal("no call reached the server")
	}
}

// A fresh state directory is the host's secret store (root password, keys):
// it is created 0700.
func TestFreshDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "lab")
	h, err := Start(context.Background(), Options{Dir: dir, OVS: ovs.ModeModel, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("fresh --dir: %v %v, want mode 0700", fi.Mode(), err)
	}
}
