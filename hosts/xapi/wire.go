package xapi

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"xenlab/hosts/xapi/xmlrpc"
)

// wire posts calls over HTTP/1.1 connections of the client's own, kept
// alive between calls, as Python's xmlrpclib does with xapi: one request
// written and one reply read on the caller's goroutine, each call's bound
// a deadline on its connection. net/http's transport, which the client
// uses when the caller brings an HTTP client or a proxy applies to the
// endpoint, hands each exchange to two goroutines of its own per
// connection and a timer per call; for xapi's small, sequential calls that
// was as much as decoding the reply (docs/performance.md, "The xapi client
// and its XML-RPC decoder").
//
// What it speaks is the part of HTTP/1.1 that xapi's server uses (xen-api
// ocaml/libs/http-lib/http_svr.ml): a POST with Content-Length, and a
// reply framed by Content-Length, chunked, or the connection's end. A
// connection is kept only when its reply was read to the end, nothing
// follows it, and neither side asked to close; one taken from the idle
// list is used only when the peer has sent nothing since (no close, no
// TLS alert), checked without blocking.
type wire struct {
	addr   string      // host:port to dial
	tls    *tls.Config // nil for http
	head   []byte      // the request up to the Content-Length value
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTO time.Duration // connect bound
	tlsTO  time.Duration // TLS handshake bound

	mu     sync.Mutex
	idle   []*wireConn // most recently used last
	closed bool
}

// maxIdleConns is how many connections a client keeps between calls; more
// at once are opened and closed as needed.
const maxIdleConns = 32

// maxIdleTime is how long a connection may wait for the next call
// (net/http's transport closes its own after 90 s too). A peer that went
// away without a word (a power cut, a route gone) shows nothing a peek
// can see, and a request written to it waits for the call's whole bound
// where a fresh connect fails within its own; TCP keepalive finds such a
// peer only after minutes. xapi keeps a connection open as long as the
// client does (http_svr.ml: no timeout after the first request).
const maxIdleTime = 90 * time.Second

// wireConn is one connection and its buffers.
type wireConn struct {
	conn  net.Conn     // what is read and written: a *tls.Conn or the TCP connection
	sys   syscall.Conn // the socket beneath, for the idle check; nil if unknown
	edges *recordEdges // for https: where crypto/tls's reads from the socket end
	rd    errKeeper    // conn, read through br
	br    *bufio.Reader
	bw    *bufio.Writer

	idleAt time.Time // when it was last put in the idle list
}

// errKeeper keeps the error its reader returned: bufio.Reader holds one
// back until the next read, and a connection whose last read ended
// (say, a TLS close_notify read with the reply's last bytes) is not kept.
// It also bounds what one reply may bring: left bytes more, then errTooLong
// (textproto reads a header line of any length, and a chunked body's
// trailer, into memory).
type errKeeper struct {
	r    io.Reader
	err  error
	left int64
}

// Bounds of one reply: its status line and headers (net/http's transport
// allows 10 MB; xapi's are a few hundred bytes), and all of it, framing
// included.
const (
	maxReplyHead  = 1 << 20
	maxReplyBytes = xmlrpc.MaxMessageSize + 1<<20
)

var errTooLong = errors.New("the reply goes on beyond what a reply may be (its headers or its framing)")

func (k *errKeeper) Read(p []byte) (int, error) {
	if k.left <= 0 {
		k.err = errTooLong
		return 0, errTooLong
	}
	if int64(len(p)) > k.left {
		p = p[:k.left]
	}
	n, err := k.r.Read(p)
	k.left -= int64(n)
	if err != nil {
		k.err = err
	}
	return n, err
}

// newWire is the client's own transport for endpoint, or nil when net/http
// must carry the calls: the caller's HTTP client, a proxy from the
// environment (HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as net/http reads
// them) for this endpoint, or a host name that is not ASCII (net/http
// dials it, sends it and verifies it in its punycode form).
func newWire(endpoint string, opts Options) (*wire, error) {
	if opts.HTTPClient != nil {
		return nil, nil
	}
	pin, err := optionsPin(endpoint, opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errors.New("xapi: URL does not parse")
	}
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || proxy != nil {
		return nil, nil
	}
	for _, c := range []byte(u.Hostname()) {
		if c >= utf8.RuneSelf {
			return nil, nil
		}
	}
	w := &wire{
		dial:   (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		dialTO: cmp.Or(opts.DialTimeout, DefaultDialTimeout),
		tlsTO:  cmp.Or(opts.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	w.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		if pin != nil {
			w.tls = pinnedTLSConfig(pin)
		} else {
			w.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		// The name verified without a pin, and sent (SNI) with one too,
		// as net/http does: a server or proxy that picks its certificate
		// by name gets the one the pin is of. crypto/tls sends no IP.
		w.tls.ServerName = u.Hostname()
		w.tls.NextProtos = []string{"http/1.1"}
	}
	w.head = []byte("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + hostHeader(u.Host) +
		"\r\nUser-Agent: xenlab\r\nContent-Type: text/xml\r\nContent-Length: ")
	return w, nil
}

// hostHeader is the Host header for a URL's host: an IPv6 zone is this
// machine's business, not the server's (as net/http writes it).
func hostHeader(host string) string {
	if i := strings.IndexByte(host, '%'); strings.HasPrefix(host, "[") && i > 0 {
		if j := strings.LastIndexByte(host, ']'); j > i {
			return host[:i] + host[j:]
		}
	}
	return host
}

// wireReply is a reply's status line and headers, its body to read
// within the call's deadline, and what ends the exchange.
type wireReply struct {
	resp *http.Response
	// done gives the connection back when the body was read to its end
	// and the exchange may go on (ok), or closes it.
	done func(ok bool)
}

// post writes one request with body and reads its reply's head, within
// deadline, or until ctx ends. A request on a kept connection that fails
// before all of it is written, and has no answer, goes once more on a new
// connection: the server cannot have acted on a request whose body
// it has not all received (its Content-Length says how much). net/http
// sends a POST again only when none of it was written; a TCP or TLS write
// that fails has not handed its last bytes to the kernel, so a part
// written is as safe.
func (w *wire) post(ctx context.Context, body []byte, deadline time.Time) (*wireReply, error) {
	for attempt := 0; ; attempt++ {
		wc, reused, err := w.get(ctx, deadline)
		if err != nil {
			return nil, err
		}
		// The deadline first: a context that has already ended runs its
		// AfterFunc at once, and that must come after.
		_ = wc.conn.SetDeadline(deadline)
		stop := func() bool { return true }
		if ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() { _ = wc.conn.SetDeadline(aLongTimeAgo) })
		}
		written, err := wc.write(w.head, body)
		// A server may answer before it has read all of the request, and
		// close: xapi does for a call over 300 KB. When the write failed
		// and an answer waits, that answer is the call's, and the request
		// is not sent again. What waits may be no answer (the close_notify
		// of a server that closed the connection as it sat idle): then a
		// request not all written goes again, as below.
		if err == nil || wc.answered() {
			wc.rd.left = maxReplyHead
			resp, rerr := readReplyHead(wc.br)
			if rerr == nil {
				wc.rd.left = maxReplyBytes
				return &wireReply{resp: resp, done: func(ok bool) {
					// stop is false when ctx ended the exchange.
					if stop() && ok && written && !resp.Close && wc.br.Buffered() == 0 && wc.rd.err == nil && wc.nothingHeld() {
						w.put(wc)
					} else {
						wc.close()
					}
				}}, nil
			}
			if err == nil {
				err = rerr
			}
		}
		stopped := stop()
		wc.close()
		if !stopped || ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reused && !written && attempt == 0 {
			continue
		}
		return nil, err
	}
}

// aLongTimeAgo is a deadline that has passed: setting it ends a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// readReplyHead reads a reply's status line and headers, passing over
// informational (1xx) replies, which xapi does not send but HTTP/1.1
// allows.
func readReplyHead(br *bufio.Reader) (*http.Response, error) {
	for i := 0; ; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols || i == 4 {
			return resp, nil
		}
	}
}

// write writes the request; written says whether all of it left.
func (wc *wireConn) write(head, body []byte) (written bool, err error) {
	var n [20]byte
	wc.bw.Write(head)
	wc.bw.Write(strconv.AppendInt(n[:0], int64(len(body)), 10))
	wc.bw.WriteString("\r\n\r\n")
	wc.bw.Write(body)
	if err := wc.bw.Flush(); err != nil {
		return false, err
	}
	return true, nil
}

func (wc *wireConn) close() { _ = wc.conn.Close() }

// nothingHeld says whether the TLS layer holds nothing of the peer's:
// crypto/tls reads from the socket more than the record it needs, and
// keeps a record's plaintext beyond what br asked for, where neither br
// nor a peek at the socket (quiet) sees it; whatever it is (bytes after
// the reply, a close_notify), the next call must not read it as its reply.
// A read with a deadline already passed answers without waiting: what
// crypto/tls holds, or a timeout (which it does not keep as an error).
//
// What it reads may also end inside a record, whose first bytes crypto/tls
// then holds while it waits for the rest; its read times out then as when
// it holds nothing, so the record framing of what it read (edges) must
// end at a record's end too.
func (wc *wireConn) nothingHeld() bool {
	if wc.edges == nil { // no TLS: br and the peek see everything
		return true
	}
	if !wc.edges.atEdge() {
		return false
	}
	_ = wc.conn.SetReadDeadline(aLongTimeAgo)
	var b [1]byte
	n, err := wc.conn.Read(b[:])
	return n == 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

// get takes the most recently used idle connection that is still open and
// has not waited too long, or dials a new one; reused says which.
func (w *wire) get(ctx context.Context, deadline time.Time) (wc *wireConn, reused bool, err error) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return nil, false, ErrClosed
		}
		n := len(w.idle)
		if n == 0 {
			w.mu.Unlock()
			break
		}
		wc = w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		var older []*wireConn
		stale := time.Since(wc.idleAt) > maxIdleTime
		if stale { // and so are those that waited longer
			older, w.idle = w.idle, nil
		}
		w.mu.Unlock()
		if stale {
			wc.close()
			for _, o := range older {
				o.close()
			}
			break
		}
		if wc.quiet() {
			return wc, true, nil
		}
		wc.close()
	}
	wc, err = w.connect(ctx, deadline)
	return wc, false, err
}

// put keeps a connection for the next call, or closes it when the client
// is closed or keeps enough.
func (w *wire) put(wc *wireConn) {
	_ = wc.conn.SetDeadline(time.Time{})
	wc.idleAt = time.Now()
	w.mu.Lock()
	if !w.closed && len(w.idle) < maxIdleConns {
		w.idle = append(w.idle, wc)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	wc.close()
}

// closeIdle closes the idle connections; with final, connections in use
// are closed as their calls end, and no call starts again.
func (w *wire) closeIdle(final bool) {
	w.mu.Lock()
	idle := w.idle
	w.idle = nil
	if final {
		w.closed = true
	}
	w.mu.Unlock()
	for _, wc := range idle {
		wc.close()
	}
}

// connect dials the endpoint and, for https, makes the TLS handshake, each
// within its own bound (and the call's deadline, and ctx).
func (w *wire) connect(ctx context.Context, deadline time.Time) (*wireConn, error) {
	own := &TimeoutError{Phase: "connect", After: w.dialTO}
	dctx, cancel := context.WithTimeoutCause(ctx, w.dialTO, own)
	dctx, cancelCall := context.WithDeadline(dctx, deadline)
	conn, err := w.dial(dctx, "tcp", w.addr)
	cancelCall()
	cancel()
	if err != nil {
		if ctx.Err() == nil && context.Cause(dctx) == own {
			return nil, own
		}
		return nil, err
	}
	wc := &wireConn{conn: conn}
	wc.sys, _ = conn.(syscall.Conn)
	if w.tls != nil {
		wc.edges = &recordEdges{Conn: conn}
		tc := tls.Client(wc.edges, w.tls)
		own := &TimeoutError{Phase: "TLS handshake", After: w.tlsTO}
		hctx, cancel := context.WithTimeoutCause(ctx, w.tlsTO, own)
		hctx, cancelCall := context.WithDeadline(hctx, deadline)
		err := tc.HandshakeContext(hctx)
		cancelCall()
		cancel()
		if err != nil {
			conn.Close()
			if ctx.Err() == nil && context.Cause(hctx) == own {
				return nil, own
			}
			return nil, err
		}
		wc.conn = tc
	}
	wc.rd.r = wc.conn
	wc.br = bufio.NewReaderSize(&wc.rd, 4096)
	wc.bw = bufio.NewWriterSize(wc.conn, 4096)
	return wc, nil
}

// bodyAtEnd reads what is left of a reply's body, up to a little, and says
// whether the body ended there: a connection is kept only then.
func bodyAtEnd(body io.Reader) bool {
	n, err := io.CopyN(io.Discard, body, 512)
	return n < 512 && err == io.EOF
}

// recordEdges follows the TLS record framing (RFC 8446 section 5.1: a
// 5-byte header whose last two bytes are the length of what follows) of
// what crypto/tls reads from the socket beneath it, to tell whether its
// reads so far end at the end of a record.
type recordEdges struct {
	net.Conn
	head  [5]byte
	nhead int // bytes of the current record's header read
	body  int // bytes of the current record's body still to come
}

func (r *recordEdges) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.follow(p[:n])
	return n, err
}

func (r *recordEdges) follow(b []byte) {
	for len(b) > 0 {
		if r.body > 0 {
			k := min(r.body, len(b))
			r.body -= k
			b = b[k:]
			continue
		}
		k := copy(r.head[r.nhead:], b)
		r.nhead += k
		b = b[k:]
		if r.nhead == len(r.head) {
			r.body = int(r.head[3])<<8 | int(r.head[4])
			r.nhead = 0
		}
	}
}

// atEdge says whether the bytes read so far end where a record ends.
func (r *recordEdges) atEdge() bool { return r.nhead == 0 && r.body == 0 }
