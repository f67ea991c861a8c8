package xapi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
	"xenlab/secret"
)

func dialFake(t *testing.T, f *fakeXapi, url string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), Options{URL: url, User: testUser, Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func TestDialCallClose(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("pool.get_all", func(params []any) (any, error) { return []any{"OpaqueRef:pool"}, nil })
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	v, err := c.Call(context.Background(), "pool.get_all")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v) != "[OpaqueRef:pool]" {
		t.Fatalf("got %#v", v)
	}
	login := f.lastCall("session.login_with_password")
	if want := []any{testUser, testPassword, "2.0", "xenlab"}; fmt.Sprint(login.Params) != fmt.Sprint(want) {
		t.Errorf("login params %v, want %v", login.Params, want)
	}
	if login.Path != "/" {
		t.Errorf("posted to %q, want /", login.Path)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsTo("session.logout")); n != 1 {
		t.Fatalf("%d logouts, want 1", n)
	}
	if got := c.RoundTrips(); got != 3 {
		t.Fatalf("RoundTrips %d, want 3 (login, call, logout)", got)
	}
	if _, err := c.Call(context.Background(), "pool.get_all"); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestPostsToURLPath(t *testing.T) {
	f := newFakeXapi(t)
	srv := f.serve(false)
	dialFake(t, f, srv.URL+"/RPC2")
	if p := f.lastCall("session.login_with_password").Path; p != "/RPC2" {
		t.Fatalf("posted to %q, want /RPC2", p)
	}
}

func TestBadPasswordIsTypedAndSecret(t *testing.T) {
	f := newFakeXapi(t)
	srv := f.serve(false)
	_, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, Password: secret.New("wrong-" + testPassword)})
	var xe *Error
	if !errors.As(err, &xe) || xe.Code != CodeSessionAuthenticationFailed {
		t.Fatalf("got %v, want SESSION_AUTHENTICATION_FAILED", err)
	}
	if want := []string{testUser, "Authentication failure"}; fmt.Sprint(xe.Params) != fmt.Sprint(want) {
		t.Errorf("params %q, want %q", xe.Params, want)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestPasswordNeverPrinted(t *testing.T) {
	opts := Options{URL: "https://h", User: "root", Password: secret.New(testPassword)}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(format, opts); strings.Contains(s, testPassword) || strings.Contains(s, fmt.Sprintf("%x", testPassword)) {
			t.Errorf("%s shows the password: %s", format, s)
		}
	}
	_, err := Dial(context.Background(), Options{URL: "https://root:" + testPassword + "@h/", Password: secret.New(testPassword)})
	if err == nil || strings.Contains(err.Error(), testPassword) {
		t.Fatalf("URL with credentials: %v", err)
	}
}

func TestPasswordFuncUsedAtEachLogin(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("pool.get_all", func([]any) (any, error) { return []any{}, nil })
	srv := f.serve(false)
	var n int
	c, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, PasswordFunc: func(context.Context) (Secret, error) {
		n++
		return secret.New(testPassword), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	f.invalidateSessions()
	if _, err := c.Call(context.Background(), "pool.get_all"); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("PasswordFunc called %d times, want 2", n)
	}
}

func TestSessionInvalidReloginOnce(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("host.get_all", func([]any) (any, error) { return []any{"OpaqueRef:h"}, nil })
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	old := c.Session()
	f.invalidateSessions()
	if _, err := c.Call(context.Background(), "host.get_all"); err != nil {
		t.Fatal(err)
	}
	if f.loginCount() != 2 || c.Session() == old {
		t.Fatalf("logins %d, session %s (was %s)", f.loginCount(), c.Session(), old)
	}
	if got := c.RoundTrips(); got != 4 { // login, failed call, login, retry
		t.Fatalf("RoundTrips %d, want 4", got)
	}

	// A server that keeps refusing the session gets one re-login and one
	// retry, then the error.
	f.handle("host.get_all", func([]any) (any, error) {
		return nil, &Error{Code: CodeSessionInvalid, Params: []string{"x"}}
	})
	before := c.RoundTrips()
	_, err := c.Call(context.Background(), "host.get_all")
	if !HasCode(err, CodeSessionInvalid) {
		t.Fatalf("got %v, want SESSION_INVALID", err)
	}
	if d := c.RoundTrips() - before; d != 3 {
		t.Fatalf("%d round trips, want 3 (call, login, retry)", d)
	}
}

func TestErrorKeepsAllParams(t *testing.T) {
	f := newFakeXapi(t)
	params := []string{"OpaqueRef:vif1", "OpaqueRef:vif2", "OpaqueRef:vif3", "OpaqueRef:vif4"}
	f.handle("network.destroy", func([]any) (any, error) {
		return nil, &Error{Code: CodeNetworkContainsVIF, Params: params}
	})
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	_, err := c.Call(context.Background(), "network.destroy", Ref("OpaqueRef:n"))
	wrapped := fmt.Errorf("teardown: %w", err)
	var xe *Error
	if !errors.As(wrapped, &xe) {
		t.Fatalf("got %T %v", err, err)
	}
	if xe.Code != CodeNetworkContainsVIF || xe.Method != "network.destroy" || fmt.Sprint(xe.Params) != fmt.Sprint(params) {
		t.Fatalf("got %#v", xe)
	}
	if xe.Param(3) != "OpaqueRef:vif4" || xe.Param(4) != "" {
		t.Fatalf("Param: %q %q", xe.Param(3), xe.Param(4))
	}
	var te *TransportError
	if errors.As(err, &te) {
		t.Fatal("an xapi failure must not be a TransportError")
	}
}

// rawReply makes the fake answer method with the given body and status.
func rawReply(f *fakeXapi, method string, status int, body string) {
	f.raw = func(w http.ResponseWriter, m string) bool {
		if m != method {
			return false
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}

func TestMalformedReplies(t *testing.T) {
	ok, _ := xmlrpc.MarshalResponse(map[string]any{"Status": "Success", "Value": map[string]any{"a": "b", "c": []any{"d"}}})
	cases := []struct {
		name      string
		status    int
		body      string
		transport bool // *TransportError, else *Error
		code      string
	}{
		{"failure without ErrorDescription", 200, `<methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member></struct></value></param></params></methodResponse>`, false, ""},
		{"failure with empty ErrorDescription", 200, `<methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data/></array></value></member></struct></value></param></params></methodResponse>`, false, ""},
		{"truncated struct", 200, string(ok[:len(ok)*2/3]), true, ""},
		{"not xml", 200, "Internal error", true, ""},
		{"no Status", 200, `<methodResponse><params><param><value><struct/></value></param></params></methodResponse>`, true, ""},
		{"not a struct", 200, `<methodResponse><params><param><value>x</value></param></params></methodResponse>`, true, ""},
		{"xml-rpc fault", 200, `<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>`, true, ""},
		{"http 500", 500, "malformed", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeXapi(t)
			srv := f.serve(false)
			c := dialFake(t, f, srv.URL)
			rawReply(f, "VM.get_record", tc.status, tc.body)
			_, err := c.Call(context.Background(), "VM.get_record", Ref("OpaqueRef:vm"))
			var te *TransportError
			var xe *Error
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.transport && !errors.As(err, &te):
				t.Fatalf("got %T %v, want a TransportError", err, err)
			case tc.transport && tc.status != 200 && te.StatusCode != tc.status:
				t.Fatalf("StatusCode %d, want %d", te.StatusCode, tc.status)
			case !tc.transport && (!errors.As(err, &xe) || xe.Code != tc.code):
				t.Fatalf("got %T %v, want an *Error with code %q", err, err, tc.code)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	f := newFakeXapi(t)
	release := make(chan struct{})
	f.handle("VM.clean_shutdown", func([]any) (any, error) {
		<-release
		return "", nil
	})
	srv := f.serve(false)
	defer close(release)
	c := dialFake(t, f, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, "VM.clean_shutdown", Ref("OpaqueRef:vm"))
		errc <- err
	}()
	for len(f.callsTo("VM.clean_shutdown")) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-errc
	var te *TransportError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &te) {
		t.Fatalf("got %v, want a TransportError wrapping context.Canceled", err)
	}
}

// TestConcurrentCalls runs many calls at once (meant for -race) and checks
// the round-trip counter is exact, and that a session lost under load is
// replaced by exactly one login.
func TestConcurrentCalls(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VM.get_power_state", func(params []any) (any, error) { return "Running", nil })
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	const workers, each = 16, 25
	run := func() {
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run()
	if got, want := c.RoundTrips(), int64(1+workers*each); got != want {
		t.Fatalf("RoundTrips %d, want %d", got, want)
	}
	f.invalidateSessions()
	run()
	if n := f.loginCount(); n != 2 {
		t.Fatalf("%d logins after losing the session under load, want 2", n)
	}
}

func TestTLSFingerprintPin(t *testing.T) {
	f := newFakeXapi(t)
	srv := f.serve(true)
	pin := FormatFingerprint(srv.Certificate().Raw)
	ctx := context.Background()

	c, err := Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword), Fingerprint: pin})
	if err != nil {
		t.Fatalf("right pin refused: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Upper-case hex with colons, as openssl prints it, is the same pin.
	raw := strings.ToUpper(strings.TrimPrefix(pin, "sha256:"))
	var colon []string
	for i := 0; i < len(raw); i += 2 {
		colon = append(colon, raw[i:i+2])
	}
	c, err = Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword), Fingerprint: strings.Join(colon, ":")})
	if err != nil {
		t.Fatalf("openssl-style pin refused: %v", err)
	}
	_ = c.Close(ctx)

	logins := f.loginCount()
	wrong := "sha256:" + strings.Repeat("ab", 32)
	_, err = Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword), Fingerprint: wrong})
	var te *TransportError
	if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), "does not match the pinned fingerprint") {
		t.Fatalf("wrong pin: got %v", err)
	}
	_, err = Dial(ctx, Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword)})
	var unknownAuthority x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &unknownAuthority) {
		t.Fatalf("self-signed without pin: got %v, want an unknown authority error", err)
	}
	if f.loginCount() != logins {
		t.Fatal("a refused server received the login")
	}
	if _, err := Dial(ctx, Options{URL: srv.URL, Fingerprint: "sha256:1234"}); err == nil {
		t.Fatal("short fingerprint accepted")
	}
	if _, err := Dial(ctx, Options{URL: strings.Replace(srv.URL, "https:", "http:", 1), Fingerprint: pin}); err == nil {
		t.Fatal("fingerprint with http accepted")
	}
}

func TestTLSWithCallerHTTPClient(t *testing.T) {
	f := newFakeXapi(t)
	srv := f.serve(true)
	// The caller's client trusts the test CA: normal verification works.
	c, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close(context.Background())
}

func BenchmarkCall(b *testing.B) {
	f := newFakeXapi(b)
	f.handle("VM.get_record", func([]any) (any, error) {
		return map[string]any{"uuid": "u", "power_state": "Running", "VIFs": []any{"OpaqueRef:a"}, "other_config": map[string]any{"k": "v"}}, nil
	})
	srv := f.serve(false)
	c, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	start := c.RoundTrips()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Call(context.Background(), "VM.get_record", Ref("OpaqueRef:vm")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.RoundTrips()-start)/float64(b.N), "roundtrips/op")
}

func TestRoundTripTimeout(t *testing.T) {
	f := newFakeXapi(t)
	release := make(chan struct{})
	f.handle("VM.copy", func([]any) (any, error) {
		<-release
		return "OpaqueRef:copy", nil
	})
	srv := f.serve(false)
	defer close(release)
	c, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.VMCopy(context.Background(), "OpaqueRef:vm", "copy", "")
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a TransportError wrapping the deadline", err)
	}
}

func TestSecretStaysOutOfJSON(t *testing.T) {
	data, err := json.Marshal(struct{ Password Secret }{secret.New(testPassword)})
	if err != nil || strings.Contains(string(data), testPassword) {
		t.Fatalf("got %s %v", data, err)
	}
}

// TestLoginEchoDoesNotLeakPassword: a proxy or broken server that answers
// the login with an error page quoting the request body must not put the
// password into the error (raw or XML-escaped).
func TestLoginEchoDoesNotLeakPassword(t *testing.T) {
	const pw = `s3cr<e>t&"pw"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		http.Error(w, "bad gateway: "+string(body), http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), Options{URL: srv.URL, User: "root", Password: secret.New(pw)})
	var te *TransportError
	if !errors.As(err, &te) || te.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %v, want a transport error with status 502", err)
	}
	for _, form := range []string{pw, `s3cr&lt;e&gt;t&amp;&#34;pw&#34;`, "s3cr"} {
		if strings.Contains(err.Error(), form) {
			t.Fatalf("error shows the password (as %q): %v", form, err)
		}
	}
}
