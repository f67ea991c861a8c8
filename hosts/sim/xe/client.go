package xe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// apiError is a xapi Failure: ErrorDescription [code, params...].
type apiError struct {
	code   string
	params []string
}

func (e *apiError) Error() string { return e.code + " [" + strings.Join(e.params, "; ") + "]" }

// connectError is a failure to reach xapi at all (newcli's
// Connect_failure and friends).
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }

// client speaks XML-RPC to xapi, as every xapi client does: POST / with a
// methodCall, a {Status, Value | ErrorDescription} struct back.
type client struct {
	http    *http.Client
	url     string
	session string
}

// localSocket finds dom0's xapi socket: /var/xapi/xapi in the host's own
// root, else (a host whose commands share this machine's root) the same
// path under the host's tree, which its commands find in XENLAB_SIM_ROOT.
func localSocket(getenv func(string) string) string {
	const sock = "/var/xapi/xapi"
	if st, err := os.Stat(sock); err == nil && st.Mode()&os.ModeSocket != 0 {
		return sock
	}
	if root := getenv("XENLAB_SIM_ROOT"); root != "" {
		return filepath.Join(root, sock)
	}
	return sock
}

// dialUnix connects to a unix socket, through its directory when the path
// is too long for a socket address.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	if len(path) <= 107 {
		return d.DialContext(ctx, "unix", path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(int(dir.Fd()))+"/"+filepath.Base(path))
}

// newClient connects to the local socket, or to server over HTTPS (plain
// HTTP with nossl) as xe -s does.
func newClient(o options) *client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}
	url := "http://localhost/"
	if o.server == "" {
		sock := o.socket
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return dialUnix(ctx, sock) }
	} else {
		scheme, port := "https", 443
		if o.nossl {
			scheme, port = "http", 80
		}
		if o.port != 0 {
			port = o.port
		}
		// xe of the era (stunnel) did not check the host's certificate.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec
		url = fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(o.server, strconv.Itoa(port)))
	}
	return &client{http: &http.Client{Transport: tr, Timeout: 10 * time.Minute}, url: url}
}

// call runs one API call; a session call gets the session first.
func (c *client) call(method string, params ...any) (any, error) {
	return c.rawCall(method, append([]any{c.session}, params...))
}

func (c *client) rawCall(method string, params []any) (any, error) {
	body, err := xmlrpc.MarshalCall(method, params)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Post(c.url, "text/xml", bytes.NewReader(body))
	if err != nil {
		return nil, &connectError{err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, xmlrpc.MaxMessageSize+1))
	if err != nil {
		return nil, &connectError{err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("xapi answered %s", resp.Status)
	}
	v, err := xmlrpc.UnmarshalResponse(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("xapi answered without a result struct")
	}
	if m["Status"] == "Success" {
		return m["Value"], nil
	}
	desc, _ := m["ErrorDescription"].([]any)
	e := &apiError{code: "INTERNAL_ERROR"}
	for i, d := range desc {
		s := fmt.Sprint(d)
		if i == 0 {
			e.code = s
		} else {
			e.params = append(e.params, s)
		}
	}
	return nil, e
}

// post sends a bare POST to a path of the local socket (the simulator's
// toolstack restart).
func (c *client) post(path string) error {
	resp, err := c.http.Post(strings.TrimSuffix(c.url, "/")+path, "text/plain", nil)
	if err != nil {
		return &connectError{err}
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("xapi answered %s", resp.Status)
	}
	return nil
}

// login opens a session as xe does (login_with_password; over the local
// socket any user and password are let in) and logout closes it.
func (c *client) login(user, password string) error {
	v, err := c.rawCall("session.login_with_password", []any{user, password, "1.0"})
	if err != nil {
		return err
	}
	c.session, _ = v.(string)
	return nil
}

func (c *client) logout() {
	if c.session != "" {
		_, _ = c.call("session.logout")
	}
}
