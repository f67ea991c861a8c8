package xapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
	"xenlab/secret"
)

// TestWireKeepsItsConnection: sequential calls go over one connection,
// over http and https, and the client's own transport carries them.
func TestWireKeepsItsConnection(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			f := newFakeXapi(t)
			f.handle("VM.get_power_state", func([]any) (any, error) { return "Running", nil })
			c, _, conns := dialCounting(t, f, useTLS)
			if c.wire == nil {
				t.Fatal("the client's own transport is not in use")
			}
			for range 20 {
				if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
					t.Fatal(err)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Fatalf("21 round trips took %d connections, want 1", n)
			}
		})
	}
}

// TestWireLeavesAConnectionThePeerClosed: a kept connection that the
// server closed while it was idle is not used; the call goes on a new one.
func TestWireLeavesAConnectionThePeerClosed(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			f := newFakeXapi(t)
			f.handle("VM.get_power_state", func([]any) (any, error) { return "Running", nil })
			c, srv, conns := dialCounting(t, f, useTLS)
			for i := range 5 {
				srv.CloseClientConnections()
				waitPeerClosed(t, c)
				if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
					t.Fatalf("call %d after the server closed the idle connection: %v", i, err)
				}
			}
			if n := conns.Load(); n != 6 {
				t.Fatalf("%d connections, want 6 (the login's, then one after each close)", n)
			}
		})
	}
}

// dialCounting serves f on 127.0.0.1 (over TLS, pinned, when useTLS),
// counting its connections, and dials it.
func dialCounting(t *testing.T, f *fakeXapi, useTLS bool) (*Client, *httptest.Server, *atomic.Int64) {
	t.Helper()
	srv, conns := countingFake(t, f, useTLS)
	opts := Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword)}
	if useTLS {
		opts.Fingerprint = FormatFingerprint(srv.Certificate().Raw)
	}
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, srv, conns
}

// countingFake serves f on 127.0.0.1 and counts the connections it
// accepts.
func countingFake(t *testing.T, f *fakeXapi, useTLS bool) (*httptest.Server, *atomic.Int64) {
	srv := httptest.NewUnstartedServer(f)
	conns := new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, conns
}

// waitPeerClosed waits, a bounded number of times, until the client's
// idle connection shows the server's close (it travels through the
// kernel, not through anything a test can wait on).
func waitPeerClosed(t *testing.T, c *Client) {
	t.Helper()
	for range 2000 {
		c.wire.mu.Lock()
		var wc *wireConn
		if len(c.wire.idle) > 0 {
			wc = c.wire.idle[len(c.wire.idle)-1]
		}
		c.wire.mu.Unlock()
		if wc == nil || !wc.quiet() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the server's close did not reach the client within 2 s")
}

// scriptedServer answers each request, on whichever connection, with the
// next of replies (raw HTTP), and counts connections. A reply that
// returns false closes its connection after it, as does the last.
func scriptedServer(t *testing.T, replies ...func(w *bufio.Writer) bool) (url string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String(), serveScript(t, ln, replies)
}

// scriptedTLSServer is scriptedServer over TLS, each reply one TLS record
// (up to 16 KB: no small first records); pin is its certificate's.
func scriptedTLSServer(t *testing.T, replies ...func(w *bufio.Writer) bool) (url, pin string, conns *atomic.Int64) {
	t.Helper()
	return scriptedTLSServerUnder(t, nil, replies...)
}

// scriptedTLSServerUnder is scriptedTLSServer with the TCP listener
// beneath TLS wrapped by under (nil: as it is), to see or change the bytes
// the records travel in.
func scriptedTLSServerUnder(t *testing.T, under func(net.Listener) net.Listener, replies ...func(w *bufio.Writer) bool) (url, pin string, conns *atomic.Int64) {
	t.Helper()
	cert := testCertificate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if under != nil {
		ln = under(ln)
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, DynamicRecordSizingDisabled: true})
	return "https://" + ln.Addr().String(), FormatFingerprint(cert.Certificate[0]), serveScript(t, ln, replies)
}

// testCertificate is httptest's self-signed certificate for 127.0.0.1.
func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	return srv.TLS.Certificates[0]
}

// serveConns serves each connection ln accepts with serve, within 20 s,
// until the test ends, and counts the connections.
func serveConns(t *testing.T, ln net.Listener, serve func(conn net.Conn)) (conns *atomic.Int64) {
	conns = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				serve(conn)
			})
		}
	})
	return conns
}

// serveScript is scriptedServer's serving of ln; a reply is written to its
// connection in one write.
func serveScript(t *testing.T, ln net.Listener, replies []func(w *bufio.Writer) bool) (conns *atomic.Int64) {
	var next atomic.Int64
	return serveConns(t, ln, func(conn net.Conn) {
		br, bw := bufio.NewReader(conn), bufio.NewWriterSize(conn, 64<<10)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			i := int(next.Add(1)) - 1
			if i >= len(replies) {
				return
			}
			keep := replies[i](bw)
			if bw.Flush() != nil || !keep {
				return
			}
		}
	})
}

// lengthReply is a 200 with body framed by Content-Length, followed by
// extra.
func lengthReply(body, extra string) func(w *bufio.Writer) bool {
	return func(w *bufio.Writer) bool {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s%s", len(body), body, extra)
		return true
	}
}

func successBody(t *testing.T, v any) string {
	t.Helper()
	b, err := xmlrpc.MarshalResponse(map[string]any{"Status": "Success", "Value": v})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWireReadsEachFraming: replies framed by Content-Length, chunked, by
// the connection's end (HTTP/1.0 and Connection: close), after a 100
// Continue, and followed by stray bytes are all read; a connection is
// kept only when its reply ended cleanly and nobody asked to close it.
func TestWireReadsEachFraming(t *testing.T) {
	login := successBody(t, "OpaqueRef:session")
	value := successBody(t, "Running")
	length := lengthReply
	chunked := func(w *bufio.Writer) bool {
		fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
		half := len(value) / 2
		fmt.Fprintf(w, "%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", half, value[:half], len(value)-half, value[half:])
		return true
	}
	untilClose := func(proto string) func(w *bufio.Writer) bool {
		return func(w *bufio.Writer) bool {
			fmt.Fprintf(w, "%s 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n%s", proto, value)
			return false
		}
	}
	continued := func(w *bufio.Writer) bool {
		fmt.Fprintf(w, "HTTP/1.1 100 Continue\r\n\r\n")
		return length(value, "")(w)
	}
	for _, tc := range []struct {
		name  string
		reply func(w *bufio.Writer) bool
		conns int64 // for the login and two calls: the login's is kept
	}{
		{"content-length", length(value, ""), 1},
		{"chunked", chunked, 1},
		{"HTTP/1.0 until close", untilClose("HTTP/1.0"), 2},
		{"Connection: close", untilClose("HTTP/1.1"), 2},
		{"100 Continue first", continued, 1},
		{"stray bytes after the reply", length(value, "\r\nHTTP/1.1 200 OK\r\n"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := scriptedServer(t, length(login, ""), tc.reply, tc.reply)
			c, err := Dial(context.Background(), Options{URL: url, User: testUser, Password: secret.New(testPassword)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.closeIdle()
			for i := range 2 {
				v, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
				if err != nil || v != "Running" {
					t.Fatalf("call %d: got %v, %v", i, v, err)
				}
			}
			if got := conns.Load(); got != tc.conns {
				t.Fatalf("%d connections, want %d", got, tc.conns)
			}
		})
	}
}

// flakyConn fails its writes once failWrites is set, as a kept connection
// whose peer went away fails, while looking idle and open.
type flakyConn struct {
	net.Conn
	failWrites *atomic.Bool
}

func (f *flakyConn) Write(p []byte) (int, error) {
	if f.failWrites.Load() {
		return 0, errors.New("broken pipe (test)")
	}
	return f.Conn.Write(p)
}

// TestWireSendsAgainOnlyWhatWasNotSent: a call whose request could not be
// written on a kept connection goes once more on a new one (the server
// cannot have acted on it); a call whose request was sent and whose reply
// never came is not sent again.
func TestWireSendsAgainOnlyWhatWasNotSent(t *testing.T) {
	f := newFakeXapi(t)
	var shutdowns atomic.Int64
	f.handle("VM.clean_shutdown", func([]any) (any, error) { shutdowns.Add(1); return "", nil })
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	var fail atomic.Bool
	var dials atomic.Int64
	dial := c.wire.dial
	c.wire.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// Not a syscall.Conn: the idle check cannot see this peer.
		return &flakyConn{Conn: conn, failWrites: &fail}, nil
	}
	c.wire.closeIdle(false)
	if _, err := c.Call(context.Background(), "VM.clean_shutdown", Ref("OpaqueRef:vm")); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	// The kept connection fails the write; the new one must not.
	c.wire.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	if _, err := c.Call(context.Background(), "VM.clean_shutdown", Ref("OpaqueRef:vm")); err != nil {
		t.Fatalf("a request that was never written was not sent again: %v", err)
	}
	if d, s := dials.Load(), shutdowns.Load(); d != 2 || s != 2 {
		t.Fatalf("%d dials and %d shutdowns, want 2 and 2", d, s)
	}

	// A reply that never comes: the server closes the connection after
	// reading the request. That is not sent again.
	f.raw = func(w http.ResponseWriter, m string) bool {
		if m != "VM.clean_shutdown" {
			return false
		}
		shutdowns.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	}
	_, err := c.Call(context.Background(), "VM.clean_shutdown", Ref("OpaqueRef:vm"))
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a TransportError", err)
	}
	if s := shutdowns.Load(); s != 3 {
		t.Fatalf("the server got %d shutdowns, want 3: a request it read was sent again", s)
	}
}

// TestWireAfterClose: a client closed while a call is in flight closes
// that call's connection when it ends, and keeps none.
func TestWireAfterClose(t *testing.T) {
	f := newFakeXapi(t)
	release := make(chan struct{})
	entered := make(chan struct{})
	f.handle("VM.clean_shutdown", func([]any) (any, error) {
		close(entered)
		<-release
		return "", nil
	})
	srv := f.serve(false)
	c := dialFake(t, f, srv.URL)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), "VM.clean_shutdown", Ref("OpaqueRef:vm"))
		errc <- err
	}()
	<-entered
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("the call in flight: %v", err)
	}
	if n := idleConns(c); n != 0 {
		t.Fatalf("%d connections kept after Close", n)
	}
	if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); !errors.Is(err, ErrClosed) {
		t.Fatalf("a call after Close: %v, want ErrClosed", err)
	}
}

// idleConns is how many connections c keeps for the next call.
func idleConns(c *Client) int {
	c.wire.mu.Lock()
	defer c.wire.mu.Unlock()
	return len(c.wire.idle)
}

// TestHostHeader: an IPv6 zone stays on this machine.
func TestHostHeader(t *testing.T) {
	for in, want := range map[string]string{
		"xs1:443":               "xs1:443",
		"[fe80::1%25eth0]:8443": "[fe80::1]:8443",
		"[fe80::1%eth0]":        "[fe80::1]",
		"[::1]:80":              "[::1]:80",
	} {
		if got := hostHeader(in); got != want {
			t.Errorf("hostHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWireBoundsAReplysHeaders: a server whose headers never end fails
// the call once a megabyte of them has come, without holding more.
func TestWireBoundsAReplysHeaders(t *testing.T) {
	login := successBody(t, "OpaqueRef:session")
	url, _ := scriptedServer(t,
		func(w *bufio.Writer) bool {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(login), login)
			return true
		},
		func(w *bufio.Writer) bool {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nX-Long: ")
			line := strings.Repeat("a", 64<<10)
			for range 64 { // 4 MB of one header line
				if _, err := w.WriteString(line); err != nil {
					return false
				}
			}
			return false
		})
	c, err := Dial(context.Background(), Options{URL: url, User: testUser, Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.closeIdle()
	_, err = c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
	if !errors.Is(err, errTooLong) {
		t.Fatalf("got %v, want the reply refused as too long", err)
	}
	t.Log(err)
}

// TestWireLeftoversAreNotTheNextReply: bytes that follow a reply are not
// read as the next call's reply. Over TLS they can stay inside crypto/tls
// (the rest of the record, read from the socket but not yet asked for),
// where neither the reader's buffer nor a peek at the socket sees them;
// such a connection must not be kept.
func TestWireLeftoversAreNotTheNextReply(t *testing.T) {
	login := successBody(t, "OpaqueRef:session")
	big := successBody(t, strings.Repeat("r", 10000)) // read past bufio's 4 KB, straight from the record
	stale := successBody(t, "Stale")
	fresh := successBody(t, "Fresh")
	staleReply := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", len(stale), stale)
	replies := []func(*bufio.Writer) bool{lengthReply(login, ""), lengthReply(big, staleReply), lengthReply(fresh, "")}
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			opts := Options{User: testUser, Password: secret.New(testPassword)}
			var conns *atomic.Int64
			if useTLS {
				opts.URL, opts.Fingerprint, conns = scriptedTLSServer(t, replies...)
			} else {
				opts.URL, conns = scriptedServer(t, replies...)
			}
			c, err := Dial(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.closeIdle()
			if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
				t.Fatal(err)
			}
			v, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
			if err != nil || v != "Fresh" {
				t.Fatalf("the call after a reply with bytes behind it got %v, %v; want its own reply, Fresh", v, err)
			}
			if n := conns.Load(); n != 2 {
				t.Fatalf("%d connections, want 2 (the one with leftovers not kept)", n)
			}
		})
	}
}

// TestWirePartOfARecordHeldIsNotKept: crypto/tls reads from the socket
// more than the record it needs, and may so hold the first bytes of a
// record whose rest has not come (here a record header cut short, sent in
// the same write as a reply): a read with a passed deadline then times out
// as if nothing were held, and the socket is quiet. Such a connection is
// not kept: its next reply would be read from the middle of that record.
func TestWirePartOfARecordHeldIsNotKept(t *testing.T) {
	login := successBody(t, "OpaqueRef:session")
	first := successBody(t, "First")
	fresh := successBody(t, "Fresh")
	var arm atomic.Bool
	armed := func(reply func(*bufio.Writer) bool) func(*bufio.Writer) bool {
		return func(w *bufio.Writer) bool { arm.Store(true); return reply(w) }
	}
	replies := []func(*bufio.Writer) bool{lengthReply(login, ""), armed(lengthReply(first, "")), lengthReply(fresh, "")}
	opts := Options{User: testUser, Password: secret.New(testPassword)}
	var conns *atomic.Int64
	opts.URL, opts.Fingerprint, conns = scriptedTLSServerUnder(t, func(ln net.Listener) net.Listener { return tailListener{ln, &arm} }, replies...)
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.closeIdle()
	if v, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil || v != "First" {
		t.Fatalf("got %v, %v; want First", v, err)
	}
	// Bounded: a call on the kept connection waits for the rest of a
	// record that never comes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Call(ctx, "VM.get_power_state", Ref("OpaqueRef:vm"))
	if err != nil || v != "Fresh" {
		t.Fatalf("the call after a reply with part of a record behind it got %v, %v; want its own reply, Fresh", v, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the one holding part of a record not kept)", n)
	}
}

// tailListener's connections add the first three bytes of a TLS record's
// header to the write that comes after arm is set, in the same write.
type tailListener struct {
	net.Listener
	arm *atomic.Bool
}

func (l tailListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tailConn{Conn: c, arm: l.arm}, nil
}

type tailConn struct {
	net.Conn
	arm *atomic.Bool
}

func (c *tailConn) Write(p []byte) (int, error) {
	if !c.arm.CompareAndSwap(true, false) {
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(append(append([]byte(nil), p...), 0x17, 0x03, 0x03))
	return min(n, len(p)), err
}

// TestWireTLSServerName: the client's own connections dial the URL's host
// at its port (443 by default) and name it in the TLS handshake (SNI), with
// a pin as without one, as net/http's transport does: a server or a proxy
// in front of xapi that picks its certificate by name must see it. An IP
// literal is not sent as a name.
func TestWireTLSServerName(t *testing.T) {
	cert := testCertificate(t)
	pin := FormatFingerprint(cert.Certificate[0])
	for _, tc := range []struct {
		url, pin, dialed, sni string
	}{
		{"https://xs1.example/", pin, "xs1.example:443", "xs1.example"},
		{"https://xs1.example/", "", "xs1.example:443", "xs1.example"},
		{"https://xs1.example:8443/RPC2", pin, "xs1.example:8443", "xs1.example"},
		{"https://192.0.2.7/", pin, "192.0.2.7:443", ""},
		{"https://[2001:db8::7]:8443/", pin, "[2001:db8::7]:8443", ""},
		{"https://[fe80::7%25eth0]/", pin, "[fe80::7%eth0]:443", ""}, // the zone dialed, not named
	} {
		t.Run(tc.url+" pinned="+fmt.Sprint(tc.pin != ""), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			sni, done := "(no hello)", make(chan struct{})
			go func() {
				defer close(done)
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_ = tls.Server(conn, &tls.Config{
					Certificates: []tls.Certificate{cert},
					GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
						sni = h.ServerName
						return nil, nil
					},
				}).Handshake()
			}()
			w, err := newWire(tc.url, Options{Fingerprint: tc.pin})
			if err != nil {
				t.Fatalf("newWire: %v", err)
			}
			if w == nil {
				t.Skipf("a proxy from the environment applies to %s: net/http carries the calls", tc.url)
			}
			var dialed string
			w.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed = addr
				return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			wc, err := w.connect(ctx, time.Now().Add(10*time.Second))
			if err == nil {
				wc.close()
			} else if tc.pin != "" {
				t.Fatalf("the pinned handshake failed: %v", err)
			}
			if dialed != tc.dialed {
				t.Errorf("dialed %q, want %q", dialed, tc.dialed)
			}
			ln.Close()
			<-done
			if sni != tc.sni {
				t.Errorf("the server was asked for %q, want %q", sni, tc.sni)
			}
		})
	}
}

// TestWireReadsAnAnswerThatCameBeforeTheRequestWasWritten: xapi answers a
// call bigger than it takes (300 KB, http_limit_max_rpc_size) with a 500
// before it reads the body, and closes the connection; a client still
// writing then fails its write. The call must fail with xapi's answer, and
// must not be sent again: the server has answered it.
func TestWireReadsAnAnswerThatCameBeforeTheRequestWasWritten(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			c, big := earlyAnswerServer(t, useTLS, func(_ int64, conn net.Conn) bool {
				page := "<html><body><h1>HTTP 500 internal server error</h1></body></html>"
				fmt.Fprintf(conn, "HTTP/1.1 500 Internal Error\r\nContent-Length: %d\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n%s", len(page), page)
				return true
			})
			_, err := c.Call(context.Background(), "VM.add_to_other_config", Ref("OpaqueRef:vm"), "k", strings.Repeat("v", 1<<20))
			var te *TransportError
			if !errors.As(err, &te) || te.StatusCode != http.StatusInternalServerError {
				t.Errorf("got %v, want xapi's 500", err)
			}
			if n := big.Load(); n != 1 {
				t.Errorf("the server got the call %d times, want once", n)
			}
		})
	}
}

// TestWireSendsAgainWhatGotNoAnswerBeforeItWasWritten: what waits when
// the write fails may be no answer (here bytes that are not HTTP, as a
// close_notify is not); a request not all written then goes again on a
// new connection, as when nothing waits.
func TestWireSendsAgainWhatGotNoAnswerBeforeItWasWritten(t *testing.T) {
	c, big := earlyAnswerServer(t, false, func(n int64, conn net.Conn) bool {
		if n > 1 {
			return false // the second time, the server takes the call
		}
		_, _ = conn.Write([]byte("\x15\x03\x03\x00\x02\x01\x00"))
		return true
	})
	v, err := c.Call(context.Background(), "VM.add_to_other_config", Ref("OpaqueRef:vm"), "k", strings.Repeat("v", 1<<20))
	if err != nil || v != "Running" {
		t.Fatalf("got %v, %v; want the call sent again and answered", v, err)
	}
	if n := big.Load(); n != 2 {
		t.Errorf("the server got the call %d times, want twice", n)
	}
}

// earlyAnswerServer serves a login and calls on 127.0.0.1. For each call
// over 300 KB it first calls refuse with how many such calls came: refuse
// may write to the connection, and when it returns true the connection is
// closed with the body unread (a reset). It returns a client logged in
// that keeps a connection with a small socket buffer (a write of 1 MB
// blocks long before its end), and the count of such calls.
func earlyAnswerServer(t *testing.T, useTLS bool, refuse func(n int64, conn net.Conn) bool) (*Client, *atomic.Int64) {
	t.Helper()
	const limit = 300 << 10
	login := successBody(t, "OpaqueRef:session")
	value := successBody(t, "Running")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{URL: "http://" + ln.Addr().String(), User: testUser, Password: secret.New(testPassword)}
	if useTLS {
		cert := testCertificate(t)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		opts.URL, opts.Fingerprint = "https://"+ln.Addr().String(), FormatFingerprint(cert.Certificate[0])
	}
	big := new(atomic.Int64)
	serveConns(t, ln, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.ContentLength > limit && refuse(big.Add(1), conn) {
				return
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return
			}
			reply := value
			if strings.Contains(string(body), "session.login_with_password") {
				reply = login
			}
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(reply), reply)
		}
	})
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.closeIdle)
	dial := c.wire.dial
	c.wire.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(8 << 10)
		}
		return conn, err
	}
	c.wire.closeIdle(false)
	if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
		t.Fatal(err)
	}
	return c, big
}

// TestWireDropsAConnectionIdleTooLong: a connection idle longer than
// maxIdleTime (net/http's 90 s) is closed, not used: a host that went away
// without a word (a power cut, a dropped route) shows nothing a peek can
// see, and a request written to it would wait for the call's whole bound,
// where a fresh connect fails in seconds.
func TestWireDropsAConnectionIdleTooLong(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VM.get_power_state", func([]any) (any, error) { return "Running", nil })
	srv, conns := countingFake(t, f, false)
	c := dialFake(t, f, srv.URL)
	if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
		t.Fatal(err)
	}
	c.wire.mu.Lock()
	if len(c.wire.idle) != 1 {
		c.wire.mu.Unlock()
		t.Fatalf("%d idle connections, want 1", len(c.wire.idle))
	}
	old := c.wire.idle[0]
	old.idleAt = old.idleAt.Add(-maxIdleTime - time.Second) // as if idle that long
	c.wire.mu.Unlock()
	if _, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm")); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the one idle too long was used", n)
	}
	if err := old.conn.SetDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the connection idle too long is still open (%v)", err)
	}
}

// TestWireCloseWhileCallsRun: Close while calls run on several connections
// (meant for -race). A call either completes or fails with ErrClosed, never
// on a connection closed under it; afterwards nothing is kept and the
// server sees every connection closed.
func TestWireCloseWhileCallsRun(t *testing.T) {
	f := newFakeXapi(t)
	f.handle("VM.get_power_state", func([]any) (any, error) { return "Running", nil })
	srv := httptest.NewUnstartedServer(f)
	var open atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := Dial(context.Background(), Options{URL: srv.URL, User: testUser, Password: secret.New(testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 8
	var wg sync.WaitGroup
	started := make(chan struct{}, workers)
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := range 500 {
				_, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range workers {
		<-started
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a call racing Close: %v", err)
	}
	if n := idleConns(c); n != 0 {
		t.Fatalf("%d connections kept after Close", n)
	}
	for range 2000 {
		if open.Load() == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d connections still open at the server after Close", open.Load())
}

// TestWireConnectHasItsOwnTimeout: on the client's own connections too, a
// connect that never completes (a dropped SYN) fails by the connect bound,
// not by the call's deadline or the caller's context.
func TestWireConnectHasItsOwnTimeout(t *testing.T) {
	w, err := newWire("http://127.0.0.1:9/", Options{DialTimeout: 200 * time.Millisecond})
	if err != nil || w == nil {
		t.Fatalf("newWire: %v, %v", w, err)
	}
	var dials atomic.Int64
	w.dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		dials.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = w.post(ctx, []byte("<methodCall/>"), time.Now().Add(time.Hour))
	if ctx.Err() != nil {
		t.Fatalf("the connect waited for the caller's context: %v", err)
	}
	var te *TimeoutError
	if !errors.As(err, &te) || te.Phase != "connect" || dials.Load() != 1 {
		t.Fatalf("got %T %v after %d dial(s), want a connect *TimeoutError after one", err, err, dials.Load())
	}
}

// TestWireRepliesWithoutABody: a 204, a 304 (here with bytes after it that
// a 304 cannot have), and a 200 with an empty body fail the call without
// waiting, and the next call reads its own reply, not what they left.
func TestWireRepliesWithoutABody(t *testing.T) {
	login := successBody(t, "OpaqueRef:session")
	value := successBody(t, "Running")
	raw := func(head string) func(w *bufio.Writer) bool {
		return func(w *bufio.Writer) bool { _, _ = w.WriteString(head); return true }
	}
	stray := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len("Stale"), "Stale")
	for _, tc := range []struct {
		name   string
		reply  func(w *bufio.Writer) bool
		status int
	}{
		{"204", raw("HTTP/1.1 204 No Content\r\n\r\n"), http.StatusNoContent},
		{"304 with stray bytes", raw("HTTP/1.1 304 Not Modified\r\nContent-Length: " + fmt.Sprint(len(stray)) + "\r\n\r\n" + stray), http.StatusNotModified},
		{"200 empty", raw("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := scriptedServer(t, lengthReply(login, ""), tc.reply, lengthReply(value, ""))
			c, err := Dial(context.Background(), Options{URL: url, User: testUser, Password: secret.New(testPassword)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.closeIdle()
			_, err = c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
			var te *TransportError
			if !errors.As(err, &te) || te.StatusCode != tc.status {
				t.Fatalf("got %v, want a TransportError with status %d", err, tc.status)
			}
			v, err := c.Call(context.Background(), "VM.get_power_state", Ref("OpaqueRef:vm"))
			if err != nil || v != "Running" {
				t.Fatalf("the next call got %v, %v; want Running", v, err)
			}
		})
	}
}

// TestWireAddressAndHead: the address dialed (the scheme's port when the
// URL has none) and the request line and Host header written, for names,
// IPv4, IPv6 and an IPv6 zone (dialed, never sent).
func TestWireAddressAndHead(t *testing.T) {
	for _, tc := range []struct{ url, addr, head string }{
		{"http://xs1/", "xs1:80", "POST / HTTP/1.1\r\nHost: xs1\r\n"},
		{"https://xs1/", "xs1:443", "POST / HTTP/1.1\r\nHost: xs1\r\n"},
		{"http://xs1:8080/RPC2?a=b", "xs1:8080", "POST /RPC2?a=b HTTP/1.1\r\nHost: xs1:8080\r\n"},
		{"https://192.0.2.7:443/", "192.0.2.7:443", "POST / HTTP/1.1\r\nHost: 192.0.2.7:443\r\n"},
		{"http://[2001:db8::7]/", "[2001:db8::7]:80", "POST / HTTP/1.1\r\nHost: [2001:db8::7]\r\n"},
		{"https://[fe80::7%25eth0]:8443/", "[fe80::7%eth0]:8443", "POST / HTTP/1.1\r\nHost: [fe80::7]:8443\r\n"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			endpoint, err := normalizeURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			w, err := newWire(endpoint, Options{})
			if err != nil {
				t.Fatalf("newWire: %v", err)
			}
			if w == nil {
				t.Skipf("a proxy from the environment applies to %s: net/http carries the calls", tc.url)
			}
			if w.addr != tc.addr {
				t.Errorf("dials %q, want %q", w.addr, tc.addr)
			}
			if !strings.HasPrefix(string(w.head), tc.head) {
				t.Errorf("the request begins %q, want %q", w.head, tc.head)
			}
		})
	}
}

// TestRecordEdges: fed a stream of records in pieces of every size, the
// framing ends at a record's end exactly where one does.
func TestRecordEdges(t *testing.T) {
	var stream []byte
	ends := map[int]bool{0: true}
	for _, n := range []int{3, 0, 300, 1, 70000 % 65536} {
		stream = append(stream, 0x17, 0x03, 0x03, byte(n>>8), byte(n))
		stream = append(stream, make([]byte, n)...)
		ends[len(stream)] = true
	}
	for size := 1; size <= 8; size++ {
		r := &recordEdges{}
		for i := 0; i < len(stream); i += size {
			j := min(i+size, len(stream))
			r.follow(stream[i:j])
			if r.atEdge() != ends[j] {
				t.Fatalf("pieces of %d: after %d bytes atEdge is %v", size, j, r.atEdge())
			}
		}
	}
}

// TestWireLeavesInternationalNamesToNetHTTP: a host name that is not ASCII
// goes to net/http, which dials, names (Host, SNI) and verifies it in its
// punycode form; the client's own connections would send it as it is.
func TestWireLeavesInternationalNamesToNetHTTP(t *testing.T) {
	for endpoint, own := range map[string]bool{
		"https://xapi.example/":          true,
		"https://xn--bcher-kva.example/": true,
		"https://bücher.example/":        false,
		"http://bücher.example:8080/":    false,
	} {
		w, err := newWire(endpoint, Options{})
		if err != nil || (w != nil) != own {
			t.Errorf("%s: own connections %v (%v), want %v", endpoint, w != nil, err, own)
		}
	}
}

// TestPinNeedsHTTPS: a fingerprint with an http URL is refused before
// anything is sent, whichever transport would carry the calls (a pin that
// nothing checks would pass for one that holds).
func TestPinNeedsHTTPS(t *testing.T) {
	for _, hc := range []*http.Client{nil, {}} {
		_, err := Dial(context.Background(), Options{URL: "http://127.0.0.1:9/", Fingerprint: strings.Repeat("ab:", 31) + "ab",
			User: testUser, Password: secret.New(testPassword), HTTPClient: hc})
		if err == nil || !strings.Contains(err.Error(), "needs an https URL") {
			t.Errorf("HTTPClient %v: got %v, want the pin refused for http", hc != nil, err)
		}
	}
}
