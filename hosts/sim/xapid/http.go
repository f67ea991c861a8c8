package xapid

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// MaxRPCSize is the largest call xapi reads: 300 KB of body
// (xapi_globs.ml, http_limit_max_rpc_size).
const MaxRPCSize = 300 * 1024

// ServeHTTP serves xapi's XML-RPC endpoint: POST on "/" or "/RPC2". A body
// that is not a well-formed methodCall gets HTTP 500, as from xapi; other
// methods get 405 and other paths 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveWebRoot(w, r) { // dom0's web root (installer.go)
		return
	}
	if r.URL.Path != "/" && r.URL.Path != "/RPC2" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxRPCSize {
		// xapi refuses by the Content-Length, before reading the body, and
		// its connection handler answers the exception with a 500 and
		// closes (xen-api ocaml/libs/http-lib/http_svr.ml read_body,
		// ocaml/xapi/xapi_globs.ml http_limit_max_rpc_size).
		w.Header().Set("Connection", "close")
		http.Error(w, "request body over xapi's limit", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, xmlrpc.MaxMessageSize+1))
	if err != nil {
		http.Error(w, "reading request: "+err.Error(), http.StatusInternalServerError)
		return
	}
	method, params, err := xmlrpc.UnmarshalCall(body)
	if err != nil {
		http.Error(w, "malformed XML-RPC call: "+err.Error(), http.StatusInternalServerError)
		return
	}
	n := s.calls.Add(1)
	var fault *Fault
	switch {
	case s.opts.FaultFrom != nil:
		fault = s.opts.FaultFrom(r.UserAgent(), n, method)
	case s.opts.Fault != nil:
		fault = s.opts.Fault(n, method)
	}
	if fault != nil && !fault.After {
		s.writeFault(w, fault)
		return
	}
	// From here the call is xapi's: it runs to its end on the server's
	// context whatever the client does. Real xapi reads the whole request,
	// then executes it and only finds the client gone when it writes the
	// answer; a VM.start, resume, revert or hard_shutdown cut off half-way
	// would leave ports of dead domains and bridges of destroyed networks
	// in dom0. Close still ends every call (s.ctx).
	if s.opts.Latency != nil {
		if d := s.opts.Latency(method); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
		}
	}
	// The request's values (the local socket's preauth) without its
	// cancellation, which a client hang-up triggers; Close still ends it.
	ctx, stop := context.WithCancel(context.WithoutCancel(r.Context()))
	defer stop()
	defer context.AfterFunc(s.ctx, stop)()
	v, aerr := s.call(ctx, method, params)
	if fault != nil {
		s.writeFault(w, fault)
		return
	}
	s.writeResult(w, v, aerr)
}

// writeFault answers with an injected fault: no answer (a dropped
// connection), or its failure.
func (s *Server) writeFault(w http.ResponseWriter, f *Fault) {
	if f.Drop {
		dropConnection(w)
		return
	}
	s.writeResult(w, nil, &APIError{Code: f.Code, Params: f.Params})
}

// writeResult sends xapi's result struct.
func (s *Server) writeResult(w http.ResponseWriter, v any, aerr *APIError) {
	var res map[string]any
	if aerr != nil {
		res = map[string]any{"Status": "Failure", "ErrorDescription": aerr.Description()}
	} else {
		if v == nil {
			v = ""
		}
		res = map[string]any{"Status": "Success", "Value": v}
	}
	data, err := xmlrpc.MarshalResponse(res)
	if err != nil {
		s.logf("xapid: encoding response: %v", err)
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	_, _ = w.Write(data)
}

// dropConnection closes the client's connection without a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: net/http resets the stream
}

// Calls is the number of XML-RPC calls received over HTTP.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Listen serves the API on addr (such as "127.0.0.1:0") until ctx ends or
// Close is called, over TLS if tlsConfig is not nil. It returns the URL
// clients use ("https://127.0.0.1:PORT/", without the port when it is the
// scheme's own, as a real host's URLs are). It may be called more than
// once, as real xapi serves both HTTP on 80 and HTTPS on 443; plugins'
// xapi_local() is given the first plain-HTTP URL, else the first one.
func (s *Server) Listen(ctx context.Context, addr string, tlsConfig *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("xapi simulator: listening on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln, tlsConfig)
}

// Serve is Listen on a listener the caller made (in the network namespace
// of the host's dom0, say); the server closes it.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) (string, error) {
	scheme, defPort := "http", "80"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme, defPort = "https", "443"
	}
	// A client that stops sending or idles forever must not hold a
	// handler: bounded reads, like xapi's own socket timeouts. Writes are
	// not bounded, because event.from and long calls answer late.
	// Calls run on the server's context (ServeHTTP), so a client that
	// hangs up mid-call does not cut the call off, and Close ends the
	// calls in flight (Latency and AuthFailDelay pauses, plugins, event
	// waits) instead of letting Shutdown wait for them. ErrorLog is the
	// server's log: a client that hangs up mid-call is a line there,
	// nothing more.
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout: 2 * time.Minute, IdleTimeout: 5 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    log.New(logfWriter(s.logf), "xapid: ", 0)}
	hostPort := ln.Addr().String()
	if host, port, err := net.SplitHostPort(hostPort); err == nil && port == defPort {
		hostPort = host
	}
	url := fmt.Sprintf("%s://%s/", scheme, hostPort)
	err := s.serveHTTP(ctx, srv, ln, url, func() {
		if s.url == "" || (scheme == "http" && !strings.HasPrefix(s.url, "http:")) {
			s.url = url
		}
	}, nil)
	if err != nil {
		return "", err
	}
	return url, nil
}

// serveHTTP runs srv on ln until ctx ends or the server closes, then
// shuts it down and calls done (when not nil); name is what the log calls
// it. It is refused, and ln closed, when the server is closed already;
// registered runs (when not nil) under urlMu once srv is among the
// server's HTTP servers.
func (s *Server) serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, name string, registered, done func()) error {
	s.urlMu.Lock()
	if s.ctx.Err() != nil {
		s.urlMu.Unlock()
		ln.Close()
		return errors.New("xapi simulator: closed")
	}
	s.httpSrvs = append(s.httpSrvs, srv)
	if registered != nil {
		registered()
	}
	s.urlMu.Unlock()
	s.goBackground(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("xapid: serving %s: %v", name, err)
		}
	})
	s.goBackground(func() {
		select {
		case <-ctx.Done():
		case <-s.ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if done != nil {
			done()
		}
	})
	return nil
}

// logfWriter turns the HTTP server's error log into Logf lines.
type logfWriter func(string, ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
