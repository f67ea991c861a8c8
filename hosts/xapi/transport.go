package xapi

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

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

// Defaults for the Options timeouts.
const (
	DefaultDialTimeout         = 10 * time.Second
	DefaultTLSHandshakeTimeout = 10 * time.Second
	DefaultLoginTimeout        = 10 * time.Second
)

// httpClient builds the HTTP client for the endpoint and options: its own
// connect and TLS handshake timeouts, the certificate pin, and no
// redirects. A caller's client is copied, never modified.
func httpClient(endpoint string, opts Options) (*http.Client, bool, error) {
	pin, err := optionsPin(endpoint, opts)
	if err != nil {
		return nil, false, err
	}
	hc := &http.Client{}
	var tr *http.Transport
	switch {
	case opts.HTTPClient == nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
	case opts.HTTPClient.Transport == nil:
		*hc = *opts.HTTPClient
		tr = http.DefaultTransport.(*http.Transport).Clone()
	default:
		*hc = *opts.HTTPClient
		base, ok := opts.HTTPClient.Transport.(*http.Transport)
		if !ok && pin != nil {
			return nil, false, fmt.Errorf("xapi: cannot pin a fingerprint on a %T transport", opts.HTTPClient.Transport)
		}
		if ok {
			tr = base.Clone()
		}
	}
	if tr != nil {
		dialTimeout := cmp.Or(opts.DialTimeout, DefaultDialTimeout)
		dial := tr.DialContext
		if dial == nil {
			dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
		}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			own := &TimeoutError{Phase: "connect", After: dialTimeout}
			dctx, cancel := context.WithTimeoutCause(ctx, dialTimeout, own)
			defer cancel()
			conn, err := dial(dctx, network, addr)
			if err != nil && ctx.Err() == nil && context.Cause(dctx) == own {
				return nil, own
			}
			return conn, err
		}
		tr.TLSHandshakeTimeout = cmp.Or(opts.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
		if pin != nil {
			tr.TLSClientConfig = pinnedTLSConfig(pin)
		}
		hc.Transport = tr
	}
	hc.CheckRedirect = refuseRedirect
	return hc, tr != nil, nil // a caller's own RoundTripper stays the caller's
}

// optionsPin is the certificate fingerprint Options pins, nil for none;
// a pin needs an https URL.
func optionsPin(endpoint string, opts Options) ([]byte, error) {
	if opts.Fingerprint == "" {
		return nil, nil
	}
	if !strings.HasPrefix(endpoint, "https:") {
		return nil, errors.New("xapi: a certificate fingerprint needs an https URL")
	}
	return ParseFingerprint(opts.Fingerprint)
}

// refuseRedirect stops net/http before it sends anything to a redirect's
// Location: xapi never redirects a client of its own host.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return &RedirectError{StatusCode: status, Location: clipText(req.URL.Redacted(), 300)}
}

// roundTrip posts one call and decodes xapi's {Status, Value} envelope.
// timeout bounds the whole exchange, from sending the request to the end
// of the reply (xapi answers a call only when it has finished: its first
// byte comes with the result); phase names that bound in a TimeoutError.
// When secret is set the request carries a password, and the error never
// describes the reply's content, only its status, size and the kind of
// problem, so a server that echoes the request cannot put it into a message.
func (c *Client) roundTrip(ctx context.Context, method string, params []any, timeout time.Duration, phase string, secret bool) (any, error) {
	body, err := xmlrpc.MarshalCall(method, params)
	if err != nil {
		if secret {
			return nil, fmt.Errorf("xapi %s: encoding the call failed", method)
		}
		return nil, fmt.Errorf("xapi %s: encoding the call: %w", method, err)
	}
	c.roundTrips.Add(1)
	own := &TimeoutError{Phase: phase, After: timeout}
	if c.wire != nil {
		return c.postWire(ctx, method, body, own, secret)
	}
	rctx, cancel := context.WithTimeoutCause(ctx, timeout, own)
	defer cancel()
	// ownTimeout replaces the deadline error with the client's own bound,
	// unless the caller's context ended first.
	ownTimeout := func(err error) error {
		if ctx.Err() == nil && context.Cause(rctx) == own {
			return own
		}
		return err
	}
	resp, err := c.http.Do(c.request(rctx, body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the endpoint is already in TransportError.URL
		}
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, c.transportErr(method, re.StatusCode, re)
		}
		return nil, c.transportErr(method, 0, ownTimeout(err))
	}
	defer resp.Body.Close()
	return c.reply(method, resp, ownTimeout, secret)
}

// postWire is roundTrip over the client's own connections (wire.go): the
// bound is a deadline on the connection, and the caller's context, when
// it can end, moves that deadline to the past.
func (c *Client) postWire(ctx context.Context, method string, body []byte, own *TimeoutError, secret bool) (any, error) {
	// ownTimeout names what ended the exchange: the caller's context, or
	// the client's own bound (the connection's deadline).
	ownTimeout := func(err error) error {
		var te *TimeoutError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &te):
			return err // the connect's or the handshake's own bound
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
			return own
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		return nil, c.transportErr(method, 0, err)
	}
	r, err := c.wire.post(ctx, body, time.Now().Add(own.After))
	if err != nil {
		return nil, c.transportErr(method, 0, ownTimeout(err))
	}
	resp := r.resp
	if isRedirect(resp.StatusCode) {
		if loc := resp.Header.Get("Location"); loc != "" {
			r.done(false)
			target := clipText(loc, 300)
			if u, err := c.target.URL.Parse(loc); err == nil {
				target = clipText(u.Redacted(), 300)
			}
			return nil, c.transportErr(method, resp.StatusCode, &RedirectError{StatusCode: resp.StatusCode, Location: target})
		}
	}
	v, err := c.reply(method, resp, ownTimeout, secret)
	var te *TransportError
	r.done((err == nil || !errors.As(err, &te)) && bodyAtEnd(resp.Body))
	return v, err
}

// isRedirect says whether net/http's client follows a reply of this
// status to its Location (net/http's redirectBehavior): the codes the
// client's own connections refuse as a RedirectError too, so that a reply
// is the same error whichever carries the call.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// reply reads a call's reply: a 200 with XML-RPC, decoded as it is read
// (a reply that meets a limit, of nesting, values or memory, is refused
// without reading the rest), or another status, whose body is read and
// counted but not shown. ownTimeout names a read's error.
func (c *Client) reply(method string, resp *http.Response, ownTimeout func(error) error, secret bool) (any, error) {
	if resp.StatusCode != http.StatusOK {
		// The body is not shown: an error page may quote the request.
		n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, xmlrpc.MaxMessageSize+1))
		if err != nil {
			return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("reading the response: %w", ownTimeout(err)))
		}
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("%s, %d-byte %s body (not shown)",
			http.StatusText(resp.StatusCode), n, contentType(resp)))
	}
	if resp.ContentLength > xmlrpc.MaxMessageSize {
		return nil, c.transportErr(method, 0, fmt.Errorf("response exceeds %d bytes", xmlrpc.MaxMessageSize))
	}
	reply := &countingReader{r: resp.Body}
	v, err := xmlrpc.DecodeResponse(reply, resp.ContentLength)
	switch {
	case reply.n > xmlrpc.MaxMessageSize:
		return nil, c.transportErr(method, 0, fmt.Errorf("response exceeds %d bytes", xmlrpc.MaxMessageSize))
	case reply.err != nil:
		return nil, c.transportErr(method, resp.StatusCode, fmt.Errorf("reading the response: %w", ownTimeout(reply.err)))
	}
	if err != nil {
		if secret {
			var lim *xmlrpc.LimitError
			if errors.As(err, &lim) {
				return nil, c.transportErr(method, 0, lim)
			}
			return nil, c.transportErr(method, 0, fmt.Errorf("the response (%d bytes read) is not well-formed XML-RPC (details not shown: the request carried a password)", reply.n))
		}
		return nil, c.transportErr(method, 0, err)
	}
	return c.envelope(method, v, secret)
}

// Header values of every call (net/http only reads them).
var (
	textXML   = []string{"text/xml"}
	userAgent = []string{"xenlab"}
)

// request is the POST of one call's body: http.NewRequestWithContext's
// request (the body rewindable, so that net/http may send it again on a
// fresh connection when a kept-alive one turns out closed before anything
// was written), without parsing the endpoint again for each call.
func (c *Client) request(ctx context.Context, body []byte) *http.Request {
	req := &http.Request{
		Method: http.MethodPost, URL: c.target.URL, Host: c.target.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": textXML, "User-Agent": userAgent},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
	return req.WithContext(ctx)
}

// countingReader counts what is read through it and keeps the error that
// is not the end.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// contentType is the response's media type for messages: a token, or
// "untyped".
func contentType(resp *http.Response) string {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt == "" {
		return "untyped"
	}
	return clipText(mt, 60)
}

// clipText makes server-supplied text safe to print: printable ASCII
// only (others as '?'), at most n bytes.
func clipText(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = append(b[:n], "..."...)
	}
	for i, ch := range b {
		if ch < 0x20 || ch > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// envelope unpacks {Status: Success, Value} or {Status: Failure,
// ErrorDescription: [code, params...]}.
func (c *Client) envelope(method string, v any, secret bool) (any, error) {
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
		if secret {
			return nil, c.transportErr(method, 0, errors.New("response Status is neither Success nor Failure"))
		}
		return nil, c.transportErr(method, 0, fmt.Errorf("response Status %q is neither Success nor Failure", clipText(status, 80)))
	}
}

func (c *Client) transportErr(method string, status int, err error) error {
	return &TransportError{Method: method, URL: c.endpoint, StatusCode: status, Err: err}
}
