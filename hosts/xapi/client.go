package xapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// DefaultTimeout bounds one round trip when Options.Timeout is zero. It is
// generous because synchronous calls such as VM.copy or VM.clean_shutdown
// last as long as the operation; use RunAsync and a context deadline to
// bound those instead.
const DefaultTimeout = 10 * time.Minute

// Options configure Dial.
type Options struct {
	// URL of the xapi endpoint: "https://host", "https://host:443/",
	// "http://127.0.0.1:8080/RPC2". Calls are posted to its path, or to "/"
	// when it has none. A bare "host" means https://host. It must not carry
	// credentials.
	URL string
	// User to log in as, such as "root".
	User string
	// Password for User. Ignored when PasswordFunc is set.
	Password Secret
	// PasswordFunc, when set, supplies the password at each login (Dial
	// and re-login after SESSION_INVALID), so it need not stay in memory.
	PasswordFunc func(ctx context.Context) (Secret, error)
	// Fingerprint optionally pins the server's leaf certificate by SHA-256
	// ("sha256:<hex>" or hex). Without it HTTPS is verified against the
	// system roots (or HTTPClient's configuration).
	Fingerprint string
	// Timeout bounds one round trip (DefaultTimeout when zero); event.from
	// calls get their own timeout on top.
	Timeout time.Duration
	// HTTPClient, when set, is used for the calls. With a Fingerprint its
	// Transport must be an *http.Transport (it is cloned, not modified).
	HTTPClient *http.Client
	// Originator names this client to xapi at login ("xenlab" when empty).
	Originator string
}

// Client is a logged-in xapi session. It is safe for concurrent use.
type Client struct {
	endpoint   string // URL without credentials
	user       string
	password   func(ctx context.Context) (Secret, error)
	originator string
	timeout    time.Duration
	http       *http.Client
	ownHTTP    bool

	roundTrips atomic.Int64

	mu      sync.Mutex
	session Ref
	closed  bool
	login   chan struct{} // non-nil while a login is in flight
}

// Dial connects to xapi and logs in once (session.login_with_password).
func Dial(ctx context.Context, opts Options) (*Client, error) {
	endpoint, err := normalizeURL(opts.URL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		endpoint:   endpoint,
		user:       opts.User,
		originator: opts.Originator,
		timeout:    opts.Timeout,
	}
	if c.originator == "" {
		c.originator = "xenlab"
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.password = opts.PasswordFunc
	if c.password == nil {
		pw := opts.Password
		c.password = func(context.Context) (Secret, error) { return pw, nil }
	}
	if c.http, c.ownHTTP, err = httpClient(endpoint, opts); err != nil {
		return nil, err
	}
	s, err := c.doLogin(ctx)
	if err != nil {
		c.closeIdle()
		return nil, err
	}
	c.session = s
	return c, nil
}

// normalizeURL checks the endpoint URL and gives it a path.
func normalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("xapi: no URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return "", errors.New("xapi: URL does not parse")
	}
	if u.User != nil {
		return "", errors.New("xapi: URL must not carry credentials; use Options.User and Options.Password")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("xapi: URL scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("xapi: URL %q has no host", u.Redacted())
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// httpClient builds the HTTP client for the endpoint and TLS options.
func httpClient(endpoint string, opts Options) (*http.Client, bool, error) {
	if opts.Fingerprint == "" {
		if opts.HTTPClient != nil {
			return opts.HTTPClient, false, nil
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		return &http.Client{Transport: tr}, true, nil
	}
	if !strings.HasPrefix(endpoint, "https:") {
		return nil, false, errors.New("xapi: a certificate fingerprint needs an https URL")
	}
	pin, err := ParseFingerprint(opts.Fingerprint)
	if err != nil {
		return nil, false, err
	}
	var tr *http.Transport
	hc := &http.Client{}
	switch {
	case opts.HTTPClient == nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
	case opts.HTTPClient.Transport == nil:
		*hc = *opts.HTTPClient
		tr = http.DefaultTransport.(*http.Transport).Clone()
	default:
		base, ok := opts.HTTPClient.Transport.(*http.Transport)
		if !ok {
			return nil, false, fmt.Errorf("xapi: cannot pin a fingerprint on a %T transport", opts.HTTPClient.Transport)
		}
		*hc = *opts.HTTPClient
		tr = base.Clone()
	}
	tr.TLSClientConfig = pinnedTLSConfig(pin)
	hc.Transport = tr
	return hc, true, nil
}

// String describes the client without secrets.
func (c *Client) String() string {
	return fmt.Sprintf("xapi.Client{%s as %s}", c.endpoint, c.user)
}

// URL returns the endpoint calls are posted to.
func (c *Client) URL() string { return c.endpoint }

// RoundTrips returns how many HTTP requests the client has sent, logins and
// logouts included.
func (c *Client) RoundTrips() int64 { return c.roundTrips.Load() }

// Session returns the current session reference.
func (c *Client) Session() Ref {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Close logs the session out and releases idle connections. Calls after
// Close fail with ErrClosed; closing twice is a no-op.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	s := c.session
	c.mu.Unlock()
	defer c.closeIdle()
	_, err := c.roundTrip(ctx, "session.logout", []any{s}, 0)
	if err != nil && !HasCode(err, CodeSessionInvalid) {
		return fmt.Errorf("xapi: logout: %w", err)
	}
	return nil
}

func (c *Client) closeIdle() {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
}

// noSession lists the methods that take no session reference.
var noSession = map[string]bool{
	"session.login_with_password":             true,
	"session.slave_login":                     true,
	"session.slave_local_login":               true,
	"session.slave_local_login_with_password": true,
	"system.listMethods":                      true,
	"system.methodHelp":                       true,
	"system.methodSignature":                  true,
}

// Call invokes an xapi method and returns its decoded Value. The session
// reference is prepended to params for every method that takes one. On
// SESSION_INVALID the client logs in again once and retries the call once.
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	return c.call(ctx, method, params, 0)
}

// call is Call with extra time allowed for the round trip (event.from).
func (c *Client) call(ctx context.Context, method string, params []any, extra time.Duration) (any, error) {
	if noSession[method] {
		return c.roundTrip(ctx, method, params, extra)
	}
	s, err := c.currentSession()
	if err != nil {
		return nil, err
	}
	v, err := c.roundTrip(ctx, method, withSession(s, params), extra)
	if err == nil || !HasCode(err, CodeSessionInvalid) {
		return v, err
	}
	s, err2 := c.relogin(ctx, s)
	if err2 != nil {
		return nil, fmt.Errorf("xapi %s: session invalid, and logging in again failed: %w", method, err2)
	}
	return c.roundTrip(ctx, method, withSession(s, params), extra)
}

func withSession(s Ref, params []any) []any {
	return append([]any{s}, params...)
}

func (c *Client) currentSession() (Ref, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", ErrClosed
	}
	return c.session, nil
}

// relogin replaces the session stale, unless another caller already did;
// concurrent callers share one login.
func (c *Client) relogin(ctx context.Context, stale Ref) (Ref, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return "", ErrClosed
		}
		if c.session != stale {
			s := c.session
			c.mu.Unlock()
			return s, nil
		}
		if wait := c.login; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		done := make(chan struct{})
		c.login = done
		c.mu.Unlock()

		s, err := c.doLogin(ctx)
		c.mu.Lock()
		if err == nil {
			c.session = s
		}
		c.login = nil
		close(done)
		c.mu.Unlock()
		return s, err
	}
}

// doLogin calls session.login_with_password.
func (c *Client) doLogin(ctx context.Context) (Ref, error) {
	pw, err := c.password(ctx)
	if err != nil {
		return "", fmt.Errorf("xapi: reading the password for %s: %w", c.user, err)
	}
	v, err := c.roundTrip(ctx, "session.login_with_password", []any{c.user, string(pw), "2.0", c.originator}, 0)
	if err != nil {
		scrub(err, string(pw))
		return "", fmt.Errorf("xapi: login to %s as %s: %w", c.endpoint, c.user, err)
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", &TransportError{Method: "session.login_with_password", URL: c.endpoint,
			Err: fmt.Errorf("login returned %T, want a session reference", v)}
	}
	return Ref(s), nil
}

// scrub removes the password from an xapi error's parameters, in case a
// server echoes it.
func scrub(err error, pw string) {
	var xe *Error
	if pw == "" || !errors.As(err, &xe) {
		return
	}
	for i, p := range xe.Params {
		xe.Params[i] = strings.ReplaceAll(p, pw, redacted)
	}
}

// roundTrip posts one call and decodes xapi's {Status, Value} envelope.
func (c *Client) roundTrip(ctx context.Context, method string, params []any, extra time.Duration) (any, error) {
	body, err := xmlrpc.MarshalCall(method, params)
	if err != nil {
		return nil, fmt.Errorf("xapi %s: encoding the call: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout+extra)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, c.transportErr(method, 0, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "xenlab")
	c.roundTrips.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the endpoint is already in TransportError.URL
		}
		return nil, c.transportErr(method, 0, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, xmlrpc.MaxMessageSize+1))
	if err != nil {
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("reading the response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("response %q", tail(data)))
	}
	if len(data) > xmlrpc.MaxMessageSize {
		return nil, c.transportErr(method, 0, fmt.Errorf("response exceeds %d bytes", xmlrpc.MaxMessageSize))
	}
	v, err := xmlrpc.UnmarshalResponse(data)
	if err != nil {
		return nil, c.transportErr(method, 0, err)
	}
	return c.envelope(method, v)
}

// envelope unpacks {Status: Success, Value} or {Status: Failure,
// ErrorDescription: [code, params...]}.
func (c *Client) envelope(method string, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, c.transportErr(method, 0, fmt.Errorf("response is %T, want a {Status, Value} struct", v))
	}
	switch status, _ := m["Status"].(string); status {
	case "Success":
		return m["Value"], nil
	case "Failure":
		e := &Error{Method: method}
		desc, _ := m["ErrorDescription"].([]any)
		for i, d := range desc {
			s, ok := d.(string)
			if !ok {
				s = fmt.Sprint(d)
			}
			if i == 0 {
				e.Code = s
			} else {
				e.Params = append(e.Params, s)
			}
		}
		return nil, e
	default:
		return nil, c.transportErr(method, 0, fmt.Errorf("response Status %q is neither Success nor Failure", status))
	}
}

func (c *Client) transportErr(method string, status int, err error) error {
	return &TransportError{Method: method, URL: c.endpoint, StatusCode: status, Err: err}
}

// tail returns the end of a response body for error messages.
func tail(b []byte) string {
	const n = 200
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
