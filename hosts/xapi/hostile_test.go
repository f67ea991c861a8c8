package xapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
	"xenlab/secret"
)

// countingServer answers every request with a successful login and counts
// what reaches it: the place a redirect points to.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		out, _ := xmlrpc.MarshalResponse(map[string]any{"Status": "Success", "Value": "OpaqueRef:stolen"})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRedirectsAreRefused: xapi never redirects its own clients. A 307 or
// 308 would make net/http post the login, password included, to the
// Location; after a 302 the session would come from the unpinned target.
func TestRedirectsAreRefused(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, pinned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d pinned=%v", status, pinned), func(t *testing.T) {
				target, reached := countingServer(t)
				location := target.URL + "/stolen"
				var srv *httptest.Server
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, location, status)
				})
				opts := Options{User: testUser, Password: secret.New(testPassword)}
				if pinned {
					srv = httptest.NewTLSServer(h)
					opts.Fingerprint = FormatFingerprint(srv.Certificate().Raw)
				} else {
					srv = httptest.NewServer(h)
				}
				defer srv.Close()
				opts.URL = srv.URL
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := Dial(ctx, opts)
				if err == nil {
					_ = c.Close(ctx)
					t.Fatalf("logged in through a %d redirect (session %s)", status, c.Session())
				}
				t.Log(err)
				var re *RedirectError
				if !errors.As(err, &re) || re.StatusCode != status {
					t.Fatalf("got %T %v, want a *RedirectError for %d", err, err, status)
				}
				if !strings.Contains(err.Error(), location) {
					t.Errorf("error does not name the Location %s: %v", location, err)
				}
				if n := reached.Load(); n != 0 {
					t.Fatalf("the redirect target received %d request(s)", n)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Fatalf("error shows the password: %v", err)
				}
			})
		}
	}
}

// TestRedirectOnALaterCallIsRefused: a redirect after login is refused too,
// without following it with the session reference.
func TestRedirectOnALaterCallIsRefused(t *testing.T) {
	target, reached := countingServer(t)
	f := newFakeXapi(t)
	f.raw = func(w http.ResponseWriter, m string) bool {
		if m != "VM.get_record" {
			return false
		}
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return true
	}
	c := dialFake(t, f, f.serve(false).URL)
	_, err := c.Call(context.Background(), "VM.get_record", Ref("OpaqueRef:vm"))
	var re *RedirectError
	if !errors.As(err, &re) || reached.Load() != 0 {
		t.Fatalf("got %v and %d request(s) at the target, want a RedirectError and none", err, reached.Load())
	}
}

// hostilePasswords are passwords that escaping, quoting, clipping or
// scrubbing have got wrong before.
func hostilePasswords() map[string]string {
	long := strings.Repeat("Lq7#wZ", 50) // 300 characters
	return map[string]string{
		"quotes":    `pa"ss'wo"rd`,
		"backslash": `ba\ck\\sl\ash`,
		"tab":       "ta\tbb\ted",
		"newline":   "new\nli\r\nne",
		"control":   "co\x01nt\x7fro\x1bl",
		"xml":       `<x&y>]]>`,
		"300 chars": long,
		"unicode":   "pässwörd\u202e‮",
	}
}

// forms returns the ways a password can appear in text: raw, XML-escaped,
// Go-quoted, JSON-encoded, %x, %+q.
func forms(pw string) []string {
	xmlEsc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;").Replace(pw)
	js, _ := json.Marshal(pw)
	return []string{
		pw, xmlEsc,
		strings.Trim(strconv.Quote(pw), `"`),
		strings.Trim(strconv.QuoteToASCII(pw), `"`),
		strings.Trim(string(js), `"`),
		fmt.Sprintf("%x", pw),
	}
}

// assertNoSecret fails when msg holds any form of pw, or a 6-character
// piece of one (a clipped tail of a long password).
func assertNoSecret(t *testing.T, msg, pw string) {
	t.Helper()
	for _, f := range forms(pw) {
		if strings.Contains(msg, f) {
			t.Fatalf("message shows the password (as %q):\n%s", f, msg)
		}
		const w = 6
		for i := 0; i+w <= len(f); i++ {
			if strings.Contains(msg, f[i:i+w]) {
				t.Fatalf("message shows a piece %q of the password (form %q):\n%s", f[i:i+w], f, msg)
			}
		}
	}
}

// echoServers are hostile login endpoints that quote what they received.
func echoServers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"502 echoing the request": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write(body)
		},
		"500 echoing the password raw at the end": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = fmt.Fprintf(w, "error: bad login %v", params[1])
		},
		"200 with the password as stray text": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			var b strings.Builder
			b.WriteString("<methodResponse>")
			_ = xmlEscape(&b, fmt.Sprint(params[1]))
			b.WriteString("</methodResponse>")
			_, _ = io.WriteString(w, b.String())
		},
		"200 with the password as a Status": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			out, _ := xmlrpc.MarshalResponse(map[string]any{"Status": params[1]})
			_, _ = w.Write(out)
		},
		"200 with the password as a bad int": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			var b strings.Builder
			b.WriteString("<methodResponse><params><param><value><int>")
			_ = xmlEscape(&b, fmt.Sprint(params[1]))
			b.WriteString("</int></value></param></params></methodResponse>")
			_, _ = io.WriteString(w, b.String())
		},
		"307 to a Location quoting the password": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			w.Header().Set("Location", "http://127.0.0.2:1/?p="+url.QueryEscape(fmt.Sprint(params[1]))+"&raw="+fmt.Sprint(params[1]))
			w.WriteHeader(http.StatusTemporaryRedirect)
		},
		"failure quoting the password in its parameters": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			_, params, _ := xmlrpc.UnmarshalCall(body)
			out, _ := xmlrpc.MarshalResponse(map[string]any{"Status": "Failure", "ErrorDescription": []any{
				CodeSessionAuthenticationFailed, testUser, fmt.Sprintf("wrong password %q for %v", params[1], params[1])}})
			_, _ = w.Write(out)
		},
	}
}

func xmlEscape(w io.Writer, s string) error {
	_, err := io.WriteString(w, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s))
	return err
}

// TestLoginFailureNeverShowsThePassword: whatever a hostile endpoint
// answers to the login, the error carries no form of the password.
func TestLoginFailureNeverShowsThePassword(t *testing.T) {
	for sname, h := range echoServers() {
		srv := httptest.NewServer(h)
		for pname, pw := range hostilePasswords() {
			t.Run(sname+"/"+pname, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, err := Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New(pw)})
				if err == nil {
					t.Fatal("logged in")
				}
				t.Log(err)
				assertNoSecret(t, err.Error(), pw)
				assertNoSecret(t, fmt.Sprintf("%+v %#v", err, err), pw)
			})
		}
		srv.Close()
	}
}

// TestPasswordThatIsTheHostname: a password equal to the host name must
// neither leak nor be "redacted" out of the URL, which would tell it.
func TestPasswordThatIsTheHostname(t *testing.T) {
	for sname, h := range echoServers() {
		t.Run(sname, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New("127.0.0.1")})
			if err == nil {
				t.Fatal("logged in")
			}
			msg := err.Error()
			if !strings.Contains(msg, srv.URL) || strings.Contains(msg, secret.Redacted) {
				t.Fatalf("the endpoint must be shown intact and nothing redacted: %s", msg)
			}
			if strings.Count(msg, "127.0.0.1") != strings.Count(msg, srv.URL) {
				t.Fatalf("the password appears outside the URL: %s", msg)
			}
		})
	}
}

// TestNon200BodyIsNotQuoted: an error page is described by its status and
// size, never quoted, on any call.
func TestNon200BodyIsNotQuoted(t *testing.T) {
	f := newFakeXapi(t)
	c := dialFake(t, f, f.serve(false).URL)
	const page = "<html>proxy error: upstream said SOMETHING-PRIVATE</html>"
	rawReply(f, "VM.get_record", http.StatusBadGateway, page)
	_, err := c.Call(context.Background(), "VM.get_record", Ref("OpaqueRef:vm"))
	var te *TransportError
	if !errors.As(err, &te) || te.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
	if strings.Contains(err.Error(), "PRIVATE") || !strings.Contains(err.Error(), fmt.Sprint(len(page))) {
		t.Fatalf("want the status and size, not the body: %v", err)
	}
}

// silentListener accepts connections and never writes to them.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() { _, _ = io.Copy(io.Discard, c) }()
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	t.Cleanup(func() { close(done); _ = l.Close() })
	return l.Addr().String()
}

// TestSilentXapiFailsLoginOnItsOwnTimeout: a xapi that accepts and never
// answers fails the login by the login's own bound, long before the
// caller's context and whatever Timeout allows long calls.
func TestSilentXapiFailsLoginOnItsOwnTimeout(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{URL: "http://" + addr, User: testUser, Password: secret.New(testPassword),
		Timeout: time.Hour, LoginTimeout: 200 * time.Millisecond})
	if ctx.Err() != nil {
		t.Fatalf("the login waited for the caller's context: %v", err)
	}
	t.Log(err)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Phase != "login" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %T %v, want a login *TimeoutError", err, err)
	}
}

// TestSilentTLSFailsHandshakeOnItsOwnTimeout: a listener that never starts
// the TLS handshake fails it by the handshake's own bound.
func TestSilentTLSFailsHandshakeOnItsOwnTimeout(t *testing.T) {
	addr := silentListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{URL: "https://" + addr, User: testUser, Password: secret.New(testPassword),
		Fingerprint:  "sha256:" + strings.Repeat("ab", 32),
		LoginTimeout: time.Hour, TLSHandshakeTimeout: 200 * time.Millisecond})
	if ctx.Err() != nil {
		t.Fatalf("the handshake waited for the caller's context: %v", err)
	}
	var te *TimeoutError
	if !errors.As(err, &te) || te.Phase != "TLS handshake" || !strings.Contains(err.Error(), "TLS handshake timeout") {
		t.Fatalf("got %T %v, want a TLS handshake *TimeoutError", err, err)
	}
}

// TestConnectHasItsOwnTimeout: a connect that never completes (a dialer
// that blocks, as a dropped SYN does) fails by the connect bound, not by
// the login's or the caller's.
func TestConnectHasItsOwnTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var dials atomic.Int64
	hanging := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		dials.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	_, err := Dial(ctx, Options{URL: "http://127.0.0.1:9", User: testUser, Password: secret.New(testPassword),
		HTTPClient: &http.Client{Transport: hanging}, LoginTimeout: time.Hour, DialTimeout: 200 * time.Millisecond})
	if ctx.Err() != nil {
		t.Fatalf("the connect waited for the caller's context: %v", err)
	}
	t.Log(err)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Phase != "connect" || dials.Load() == 0 {
		t.Fatalf("got %T %v after %d dial(s), want a connect *TimeoutError", err, err, dials.Load())
	}
}

// headEchoServer answers each login with head(password) as its raw status
// line and headers, and closes the connection.
func headEchoServer(t *testing.T, head func(pw string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveConns(t, ln, func(conn net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		_, params, err := xmlrpc.UnmarshalCall(body)
		if err != nil || len(params) < 2 {
			return
		}
		_, _ = io.WriteString(conn, head(fmt.Sprint(params[1])))
	})
	return "http://" + ln.Addr().String()
}

// TestLoginReplyHeadNeverShowsThePassword: a reply to the login whose
// status line or headers quote the password and do not parse fails the
// login without the password in the error, over the client's own
// connections and over net/http (a caller's HTTP client).
func TestLoginReplyHeadNeverShowsThePassword(t *testing.T) {
	heads := map[string]func(pw string) string{
		"a header line without a colon": func(pw string) string { return "HTTP/1.1 200 OK\r\nX-Echo " + pw + "\r\n\r\n" },
		"a status code":                 func(pw string) string { return "HTTP/1.1 " + pw + " OK\r\n\r\n" },
		"a status line":                 func(pw string) string { return pw + "\r\n\r\n" },
		"a protocol":                    func(pw string) string { return "HTTP/" + pw + " 200 OK\r\n\r\n" },
	}
	for hname, head := range heads {
		url := headEchoServer(t, head)
		for _, transport := range []string{"own", "net/http"} {
			for pname, pw := range hostilePasswords() {
				t.Run(hname+"/"+transport+"/"+pname, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					opts := Options{URL: url, User: testUser, Password: secret.New(pw)}
					if transport == "net/http" {
						opts.HTTPClient = &http.Client{}
					}
					_, err := Dial(ctx, opts)
					if err == nil {
						t.Fatal("logged in")
					}
					t.Log(err)
					assertNoSecret(t, err.Error(), pw)
					assertNoSecret(t, fmt.Sprintf("%+v %#v", err, err), pw)
				})
			}
		}
	}
}

// TestOtherThreeHundredsAreNotRedirects: a 300 or a 305 with a Location is
// no redirect to net/http (it follows 301, 302, 303, 307 and 308 only), and
// the client's own connections say the same of it: an HTTP error with its
// status, not a RedirectError, whichever carries the call.
func TestOtherThreeHundredsAreNotRedirects(t *testing.T) {
	for _, status := range []int{http.StatusMultipleChoices, http.StatusUseProxy} {
		for _, own := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d own=%v", status, own), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
					w.WriteHeader(status)
				}))
				defer srv.Close()
				opts := Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword)}
				if !own {
					opts.HTTPClient = &http.Client{}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := Dial(ctx, opts)
				if err == nil {
					_ = c.Close(ctx)
					t.Fatalf("logged in through a %d", status)
				}
				var re *RedirectError
				var te *TransportError
				if errors.As(err, &re) || !errors.As(err, &te) || te.StatusCode != status {
					t.Fatalf("got %T %v, want a *TransportError with status %d and no RedirectError", err, err, status)
				}
			})
		}
	}
}
