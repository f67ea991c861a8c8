package sim

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	sshc "xenlab/hosts/ssh"
)

// Endpoints say how to reach the simulated host. Secrets are named by the
// files that hold them, never carried here: these are printed.
type Endpoints struct {
	XAPIURL         string `json:"xapi_url"`
	XAPIHTTPURL     string `json:"xapi_http_url"`
	XAPIUser        string `json:"xapi_user"`
	XAPIFingerprint string `json:"xapi_fingerprint"`
	PasswordFile    string `json:"password_file"`
	Dom0SSH         string `json:"dom0_ssh"`
	SSHKey          string `json:"ssh_key"`
	KnownHosts      string `json:"known_hosts"`
	GuestSSHPort    int    `json:"guest_ssh_port"`
	LabFile         string `json:"lab_file"`
	OVS             string `json:"ovs"`
	Isolation       string `json:"isolation"`
	// Network is where the host lives: "own" (a network of its own: dom0
	// and the guests in namespaces joined by veth links, simnet.go) or
	// "loopback" (this machine's).
	Network string `json:"network"`
	// LAN is the host's network, "198.18.A.0/24" when it has its own, and
	// Uplink this machine's end of the wire to it.
	LAN    string `json:"lan,omitempty"`
	Uplink string `json:"uplink,omitempty"`
	Dir    string `json:"dir"`
}

// Endpoints returns where the host's services listen and where its
// credentials are.
func (h *Host) Endpoints() Endpoints {
	ep := Endpoints{
		XAPIURL:         h.xapiURL,
		XAPIHTTPURL:     h.xapiHTTPURL,
		XAPIUser:        "root",
		XAPIFingerprint: h.creds.fingerprint,
		PasswordFile:    h.creds.passwordFile,
		Dom0SSH:         h.dom0.Addr(),
		SSHKey:          h.creds.clientKeyFile,
		KnownHosts:      filepath.Join(h.dir, "known_hosts"),
		GuestSSHPort:    h.guestPort,
		LabFile:         filepath.Join(h.dir, "lab.hcl"),
		OVS:             string(h.dom0SW.Mode()),
		Isolation:       string(h.dom0.Isolation()),
		Network:         "loopback",
		Dir:             h.dir,
	}
	if h.hnet != nil {
		ep.Network, ep.LAN, ep.Uplink = "own", h.hnet.LAN().String(), h.hnet.UplinkName()
	}
	return ep
}

// LabFile is a lab file for this host that `xenlab up -f` uses as it is.
// Paths are relative to the state directory, where the file is written;
// the password is read with file(), never written in it.
func (h *Host) LabFile() []byte {
	_, port, _ := net.SplitHostPort(h.dom0.Addr())
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Written by the xenlab simulator: a lab on the simulated XenServer host
# whose state is in this directory. It changes each time the simulator starts.
# xapi also answers over plain HTTP at %s
# %s
# %s
lab = "sim"

host "sim" {
  xapi_url         = %q
  xapi_user        = "root"
  xapi_password    = file("root-password")
  xapi_fingerprint = %q
  ssh_port         = %s
  ssh_user         = "root"
  ssh_key          = "id_ed25519"
  known_hosts      = "known_hosts"
}

domu {
  # The simulator ships devstack's cached template prebuilt.
  template_from = "existing"
  password = file("root-password")
  ssh_port = %d
}
`, h.xapiHTTPURL, h.portsNote(), h.networkNote(), h.xapiURL, h.creds.fingerprint, port, h.guestPort)
	return b.Bytes()
}

// writeKnownHosts records dom0's and the running guests' host keys in the
// state directory's known_hosts: the simulator is the trusted source of its
// own keys, as a lab's operator is of a real host's. Its lines carry the
// comment simKnownHostsTag and replace the ones it wrote before; every
// other line (those xenlab records, such as the domU keys it gives) stays.
// Writers take turns on the file (sshc.UpdateKnownHosts).
func (h *Host) writeKnownHosts() error {
	type entry struct {
		addr string
		key  ssh.PublicKey
	}
	entries := []entry{{h.dom0.Addr(), h.dom0.HostKey()}}
	h.mu.Lock()
	for _, g := range h.guests {
		entries = append(entries, entry{net.JoinHostPort(g.ip, strconv.Itoa(h.guestPort)), g.ssh.HostKey()})
	}
	h.mu.Unlock()
	var lines []string
	for _, e := range entries {
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(e.addr)}, e.key)+" "+simKnownHostsTag)
	}
	sort.Strings(lines)
	h.knownMu.Lock()
	defer h.knownMu.Unlock()
	return sshc.UpdateKnownHosts(filepath.Join(h.dir, "known_hosts"), func(old []string) []string {
		var keep []string
		for _, l := range old {
			// Lines without a comment are an older simulator's: its own.
			if c := sshc.KnownHostComment(l); c != "" && c != simKnownHostsTag {
				keep = append(keep, l)
			}
		}
		return append(keep, lines...)
	})
}

// simKnownHostsTag is the comment of the known_hosts lines the simulator
// writes.
const simKnownHostsTag = "xenlab-sim"

// portsNote says whether the host listens on a real host's ports.
func (h *Host) portsNote() string {
	_, sshPort, _ := net.SplitHostPort(h.dom0.Addr())
	// xapid leaves the port out of a URL on the scheme's own port.
	onOwn := func(url string) bool { return strings.Count(url, ":") == 1 }
	if onOwn(h.xapiURL) && onOwn(h.xapiHTTPURL) && sshPort == strconv.Itoa(realSSHPort) && h.guestPort == realSSHPort {
		return "Ports are a real host's: xapi 80 and 443, SSH 22 in dom0 and in the guests."
	}
	return "Ports are free ones, not a real host's (xapi 80/443, SSH 22), which this process may not bind or found taken."
}
