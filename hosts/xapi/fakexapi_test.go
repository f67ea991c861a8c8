package xapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"xenlab/hosts/xapi/xmlrpc"
)

const (
	testUser     = "root"
	testPassword = "s3cret-Pa55"
)

// call is one request the fake xapi received.
type call struct {
	Path   string
	Method string
	Params []any // without the session
}

// fakeXapi is a small in-test XML-RPC xapi: it checks logins and sessions
// like xapi and answers other methods from per-test handlers.
type fakeXapi struct {
	t testing.TB

	mu       sync.Mutex
	sessions map[string]bool
	logins   int
	nextID   int
	calls    []call
	// handlers answer methods by name: a value is returned as Success; a
	// *Error as Failure with its code and params.
	handlers map[string]func(params []any) (any, error)
	// raw, when set, writes the whole HTTP reply itself for a method
	// (returning false falls through to the normal handling).
	raw func(w http.ResponseWriter, method string) bool
}

func newFakeXapi(t testing.TB) *fakeXapi {
	return &fakeXapi{t: t, sessions: map[string]bool{}, handlers: map[string]func([]any) (any, error){}}
}

// serve starts the fake on 127.0.0.1 (TLS when tls is true).
func (f *fakeXapi) serve(tls bool) *httptest.Server {
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(f)
	} else {
		srv = httptest.NewServer(f)
	}
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeXapi) handle(method string, h func(params []any) (any, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[method] = h
}

// invalidateSessions forgets every session, as a xapi restart does.
func (f *fakeXapi) invalidateSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = map[string]bool{}
}

func (f *fakeXapi) loginCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

func (f *fakeXapi) callsTo(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeXapi) lastCall(method string) call {
	cs := f.callsTo(method)
	if len(cs) == 0 {
		f.t.Fatalf("no call to %s", method)
	}
	return cs[len(cs)-1]
}

func (f *fakeXapi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	method, params, err := xmlrpc.UnmarshalCall(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if f.raw != nil && f.raw(w, method) {
		return
	}
	v, err := f.dispatch(r.URL.Path, method, params)
	var reply map[string]any
	if err != nil {
		xe, ok := err.(*Error)
		if !ok {
			f.t.Errorf("fake xapi handler for %s returned %v", method, err)
			xe = &Error{Code: CodeInternalError, Params: []string{err.Error()}}
		}
		desc := []any{xe.Code}
		for _, p := range xe.Params {
			desc = append(desc, p)
		}
		reply = map[string]any{"Status": "Failure", "ErrorDescription": desc}
	} else {
		reply = map[string]any{"Status": "Success", "Value": v}
	}
	out, err := xmlrpc.MarshalResponse(reply)
	if err != nil {
		f.t.Errorf("fake xapi: encoding the reply to %s: %v", method, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(out)
}

func (f *fakeXapi) dispatch(path, method string, params []any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method == "session.login_with_password" {
		f.calls = append(f.calls, call{path, method, params})
		if len(params) < 2 || len(params) > 4 {
			return nil, &Error{Code: CodeMessageParameterCountMismatch, Params: []string{method, "4", fmt.Sprint(len(params))}}
		}
		if params[0] != testUser || params[1] != testPassword {
			return nil, &Error{Code: CodeSessionAuthenticationFailed, Params: []string{fmt.Sprint(params[0]), "Authentication failure"}}
		}
		f.logins++
		f.nextID++
		s := fmt.Sprintf("OpaqueRef:session-%d", f.nextID)
		f.sessions[s] = true
		return s, nil
	}
	if len(params) == 0 {
		return nil, &Error{Code: CodeMessageParameterCountMismatch, Params: []string{method, "1", "0"}}
	}
	s, _ := params[0].(string)
	f.calls = append(f.calls, call{path, method, params[1:]})
	if !f.sessions[s] {
		return nil, &Error{Code: CodeSessionInvalid, Params: []string{s}}
	}
	if method == "session.logout" {
		delete(f.sessions, s)
		return "", nil
	}
	h, ok := f.handlers[method]
	if !ok {
		return nil, &Error{Code: CodeMessageMethodUnknown, Params: []string{method}}
	}
	f.mu.Unlock()
	defer f.mu.Lock()
	return h(params[1:])
}
