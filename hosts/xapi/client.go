package xapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
	// calls get their own timeout on top. The login and logout have their
	// own, shorter bound (LoginTimeout).
	Timeout time.Duration
	// DialTimeout bounds the TCP connect (DefaultDialTimeout when zero).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake (DefaultTLSHandshakeTimeout
	// when zero).
	TLSHandshakeTimeout time.Duration
	// LoginTimeout bounds a login or logout round trip, from sending the
	// request to the end of the reply (DefaultLoginTimeout when zero): a
	// xapi that accepts and never answers fails the login in seconds.
	LoginTimeout time.Duration
	// HTTPClient, when set, is used for the calls. With a Fingerprint its
	// Transport must be an *http.Transport (it is cloned, not modified).
	HTTPClient *http.Client
	// Originator names this client to xapi at login ("xenlab" when empty).
	Originator string
}

// Client is a logged-in xapi session. It is safe for concurrent use.
type Client struct {
	endpoint   string        // URL without credentials
	target     *http.Request // the endpoint, parsed once: URL and Host of each call (request)
	user       string
	password   func(ctx context.Context) (Secret, error)
	originator string
	timeout    time.Duration
	// loginTimeout bounds a login or logout round trip.
	loginTimeout time.Duration
	wire         *wire        // the client's own HTTP/1.1 exchange; nil when http carries the calls
	http         *http.Client // nil when wire carries them
	ownHTTP      bool

	roundTrips atomic.Int64
	loginSlot  chan struct{} // holds one token while a re-login is in flight

	mu      sync.Mutex
	session Ref
	closed  bool
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
		loginSlot:  make(chan struct{}, 1),
	}
	if c.originator == "" {
		c.originator = "xenlab"
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.loginTimeout = opts.LoginTimeout
	if c.loginTimeout <= 0 {
		c.loginTimeout = DefaultLoginTimeout
	}
	c.password = opts.PasswordFunc
	if c.password == nil {
		pw := opts.Password
		c.password = func(context.Context) (Secret, error) { return pw, nil }
	}
	if c.target, err = http.NewRequest(http.MethodPost, endpoint, nil); err != nil {
		return nil, err
	}
	if c.wire, err = newWire(endpoint, opts); err != nil {
		return nil, err
	}
	if c.wire == nil { // net/http carries the calls
		if c.http, c.ownHTTP, err = httpClient(endpoint, opts); err != nil {
			return nil, err
		}
	}
	s, err := c.doLogin(ctx)
	if err != nil {
		c.closeIdle()
		return nil, err
	}
	c.session = s
	return c, nil
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
	defer c.closeWire()
	_, err := c.roundTrip(ctx, "session.logout", []any{s}, c.loginTimeout, "logout", false)
	if err != nil && !HasCode(err, CodeSessionInvalid) {
		return fmt.Errorf("xapi: logout: %w", err)
	}
	return nil
}

func (c *Client) closeIdle() {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	if c.wire != nil {
		c.wire.closeIdle(false)
	}
}

// closeWire closes the client's own connections for good: idle ones now,
// those of calls in flight as the calls end.
func (c *Client) closeWire() {
	if c.wire != nil {
		c.wire.closeIdle(true)
	}
}
