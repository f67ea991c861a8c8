package xapid

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// LocalSocket is where xapi listens for dom0's own clients (xe, the
// toolstack scripts): a unix socket bound to a file name. XenServer 6.x
// has it at /var/xapi/xapi (later releases at /var/lib/xcp/xapi, with
// /var/xapi a link to /var/lib/xcp).
const LocalSocket = "/var/xapi/xapi"

// ToolstackRestartPath is the simulator's own request, on the local
// socket only, that stands for dom0's init scripts restarting xapi
// (xe-toolstack-restart): see Server.RestartToolstack.
const ToolstackRestartPath = "/xenlab-sim/toolstack-restart"

// preauthKey marks a request that came in on the local socket.
type preauthKey struct{}

// preauth reports whether a call came over the local socket, which xapi
// trusts: xen-api ocaml/xapi/xapi_session.ml login_with_password logs in
// any user without checking the password when Context.preauth holds (a
// request on a unix socket bound to a file name), and xe in dom0 relies
// on it.
func preauth(ctx context.Context) bool {
	v, _ := ctx.Value(preauthKey{}).(bool)
	return v
}

// ListenLocal serves the API on a unix socket at path (a file of this
// machine: dom0's LocalSocket in the host's tree), where logins need no
// password, until ctx ends or Close. A path too long for a socket address
// is bound through its directory (/proc/self/fd/N/name).
func (s *Server) ListenLocal(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("xapi simulator: local socket: %w", err)
	}
	os.Remove(path) // a socket left by an earlier run
	ln, err := listenUnix(path)
	if err != nil {
		return fmt.Errorf("xapi simulator: local socket %s: %w", path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(ToolstackRestartPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.RestartToolstack()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("/", s)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithValue(s.ctx, preauthKey{}, true) },
		ErrorLog:    log.New(logfWriter(s.logf), "xapid: ", 0)}
	return s.serveHTTP(ctx, srv, ln, path, nil, func() { os.Remove(path) })
}

// maxSocketPath is the longest path a unix socket address holds
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// listenUnix listens on a unix socket at path, through the directory's
// descriptor when the path is too long for a socket address.
func listenUnix(path string) (net.Listener, error) {
	if len(path) <= maxSocketPath {
		return net.Listen("unix", path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	short := "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path)
	ln, err := net.Listen("unix", short)
	if err != nil {
		return nil, err
	}
	// The listener would remove short (a name through a closed
	// descriptor) when it closes; ListenLocal removes path itself.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln, nil
}

// RestartToolstack is what dom0's xe-toolstack-restart does to xapi:
// xapi exits and starts again from its database. The records are kept;
// what lives only in a running xapi goes: sessions (every client must log
// in again: SESSION_INVALID), tasks, event registrations; the bridges of
// attached PIFs are brought up again. The simulator does it in place,
// keeping its listeners, where the real daemon's socket goes away for the
// seconds of the restart.
func (s *Server) RestartToolstack() {
	s.db.mu.Lock()
	for _, class := range []string{"session", "task"} {
		for _, o := range s.db.all(class) {
			s.db.remove(o)
		}
	}
	s.rt.eventRegs = map[string]*eventRegistration{}
	s.trimNext()
	s.db.mu.Unlock()
	if err := s.bringUpPIFs(); err != nil {
		s.logf("xapid: toolstack restart: %v", err)
	}
	s.logf("xapid: toolstack restarted (xe-toolstack-restart)")
}

// Inventory is what dom0's /etc/xensource-inventory names: the host's
// uuid (INSTALLATION_UUID) and the control domain's (CONTROL_DOMAIN_UUID).
func (s *Server) Inventory() (hostUUID, controlDomainUUID string) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if h, ok := s.db.objs[s.hostR]; ok {
		hostUUID, _ = h.fields["uuid"].(string)
	}
	for _, vm := range s.db.all("VM") {
		if vm.fields["is_control_domain"] == true && vm.fields["resident_on"] == s.hostR {
			controlDomainUUID, _ = vm.fields["uuid"].(string)
		}
	}
	return hostUUID, controlDomainUUID
}
