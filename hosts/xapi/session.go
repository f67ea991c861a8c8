package xapi

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"xenlab/secret"
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

// doLogin calls session.login_with_password.
func (c *Client) doLogin(ctx context.Context) (Ref, error) {
	pw, err := c.password(ctx)
	if err != nil {
		return "", fmt.Errorf("xapi: reading the password for %s: %w", c.user, err)
	}
	v, err := c.roundTrip(ctx, "session.login_with_password", []any{c.user, pw.Reveal(), "2.0", c.originator}, 0)
	if err != nil {
		scrub(err, pw.Reveal())
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

// scrub removes the password from a failed login's error, in case a server
// or a proxy echoes it: from an xapi error's parameters, and from a
// transport error's message (which may quote the response body, where the
// password would be XML-escaped).
func scrub(err error, pw string) {
	if pw == "" {
		return
	}
	var escaped strings.Builder
	_ = xml.EscapeText(&escaped, []byte(pw))
	clean := func(s string) string {
		s = strings.ReplaceAll(s, pw, secret.Redacted)
		return strings.ReplaceAll(s, escaped.String(), secret.Redacted)
	}
	var xe *Error
	if errors.As(err, &xe) {
		for i, p := range xe.Params {
			xe.Params[i] = clean(p)
		}
	}
	var te *TransportError
	if errors.As(err, &te) && te.Err != nil {
		if msg := te.Err.Error(); clean(msg) != msg {
			te.Err = errors.New(clean(msg))
		}
	}
}
