package xapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Session returns the current session reference.
func (c *Client) Session() Ref {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
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
		return c.roundTrip(ctx, method, params, c.timeout+extra, "call", method != "system.listMethods" && method != "system.methodHelp" && method != "system.methodSignature")
	}
	s, err := c.currentSession()
	if err != nil {
		return nil, err
	}
	v, err := c.roundTrip(ctx, method, withSession(s, params), c.timeout+extra, "call", false)
	if HasCode(err, CodeSessionInvalid) {
		s, err2 := c.relogin(ctx, s)
		if err2 != nil {
			return nil, fmt.Errorf("xapi %s: session invalid, and logging in again failed: %w", method, err2)
		}
		v, err = c.roundTrip(ctx, method, withSession(s, params), c.timeout+extra, "call", false)
	}
	var xe *Error
	if errors.As(err, &xe) {
		c.vmTransition(ctx, xe)
	}
	return v, err
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
// concurrent callers share one login: they wait for the login slot, and
// the first to get it logs in while the others find the new session.
func (c *Client) relogin(ctx context.Context, stale Ref) (Ref, error) {
	select {
	case c.loginSlot <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.loginSlot }()
	s, err := c.currentSession()
	if err != nil || s != stale {
		return s, err
	}
	if s, err = c.doLogin(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	c.session = s
	c.mu.Unlock()
	return s, nil
}

// doLogin calls session.login_with_password, bounded by the login timeout.
func (c *Client) doLogin(ctx context.Context) (Ref, error) {
	pw, err := c.password(ctx)
	if err != nil {
		return "", fmt.Errorf("xapi: reading the password for %s: %w", c.user, err)
	}
	v, err := c.roundTrip(ctx, "session.login_with_password", []any{c.user, pw.Reveal(), "2.0", c.originator}, c.loginTimeout, "login", true)
	if err != nil {
		withholdPassword(err, pw.Reveal())
		var te *TransportError
		if errors.As(err, &te) { // it names the URL already
			return "", fmt.Errorf("xapi: login as %s: %w", c.user, err)
		}
		return "", fmt.Errorf("xapi: login to %s as %s: %w", c.endpoint, c.user, err)
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", &TransportError{Method: "session.login_with_password", URL: c.endpoint,
			Err: fmt.Errorf("login returned %T, want a session reference", v)}
	}
	return Ref(s), nil
}

// withheld replaces an xapi error's code or parameter that may quote the
// password.
const withheld = "(withheld: it may quote the password)"

// withholdPassword drops, from a failed login's xapi error, every code or
// parameter, or a redirect's Location, that holds the password in any form a server might echo it
// (raw, XML- or JSON-escaped, Go-quoted, hex), or a piece of one, whole:
// nothing is edited in place, so the rest of the text cannot tell the
// secret by its context. Transport errors of a login never describe the
// reply's content (see roundTrip); net/http's errors are checked too.
func withholdPassword(err error, pw string) {
	if pw == "" {
		return
	}
	var re *RedirectError
	if errors.As(err, &re) && mentions(re.Location, pw) {
		re.Location = withheld
	}
	// net/http's own errors may quote the reply (a malformed header line,
	// a Location that does not parse); connection errors (net.OpError)
	// and the client's own are built from local facts and stay whole.
	var te *TransportError
	var op *net.OpError
	var to *TimeoutError
	if errors.As(err, &te) && te.Err != nil && re == nil && !errors.As(te.Err, &op) && !errors.As(te.Err, &to) &&
		mentions(te.Err.Error(), pw) {
		te.Err = errors.New("the HTTP exchange failed (details withheld: net/http quotes the reply, which may hold the password)")
	}
	var xe *Error
	if !errors.As(err, &xe) {
		return
	}
	if mentions(xe.Code, pw) {
		xe.Code = withheld
	}
	for i, p := range xe.Params {
		if mentions(p, pw) {
			xe.Params[i] = withheld
		}
	}
}

// mentions reports whether text holds a form of secret, or a piece of six
// bytes of one.
func mentions(text, secret string) bool {
	var x strings.Builder
	_ = xml.EscapeText(&x, []byte(secret))
	js, _ := json.Marshal(secret)
	forms := []string{
		secret, x.String(), string(js[1 : len(js)-1]),
		strings.Trim(strconv.Quote(secret), `"`), strings.Trim(strconv.QuoteToASCII(secret), `"`),
		hex.EncodeToString([]byte(secret)), url.QueryEscape(secret), url.PathEscape(secret),
	}
	const piece = 6
	for _, f := range forms {
		if len(f) <= piece {
			if strings.Contains(text, f) {
				return true
			}
			continue
		}
		for i := 0; i+piece <= len(f); i++ {
			if strings.Contains(text, f[i:i+piece]) {
				return true
			}
		}
	}
	return false
}
