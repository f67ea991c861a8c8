package sim

import (
	"net"
	"os"
	"strconv"
	"strings"
)

// Ports a real XenServer host uses: xapi on 80 (HTTP) and 443 (HTTPS),
// SSH on 22, in dom0 and in a devstack domU.
const (
	xapiHTTPPort  = 80
	xapiHTTPSPort = 443
	realSSHPort   = 22
)

// mayBind says whether this process may bind a TCP port below 1024 (a
// variable so that tests can pose as an unprivileged process).
var mayBind = mayBindPort

// mayBindPort: as root, or when net.ipv4.ip_unprivileged_port_start
// allows the port.
func mayBindPort(port int) bool {
	if os.Geteuid() == 0 {
		return true
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return false
	}
	start, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && port >= start
}

// preferredAddr is ip:port when the process may bind port there, else
// ip:0 (any free port). fixed says which.
func preferredAddr(ip string, port int) (addr string, fixed bool) {
	if mayBind(port) {
		return net.JoinHostPort(ip, strconv.Itoa(port)), true
	}
	return net.JoinHostPort(ip, "0"), false
}

// canListen tries to listen on addr and lets go at once: whether a port is
// free there (another program may hold it on 0.0.0.0).
func canListen(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
