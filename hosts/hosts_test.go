package hosts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/hosts/xapi/xmlrpc"
	"xenlab/localrc"
	"xenlab/secret"
)

// TestRefusedLoginIsNotRetried: once xapi refuses the credentials, the
// other steps of the run get the same answer without a new login (each
// failed root login costs a delay on a real host and is logged there).
func TestRefusedLoginIsNotRetried(t *testing.T) {
	var logins atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "session.login_with_password") {
			logins.Add(1)
		}
		reply, _ := xmlrpc.MarshalResponse(map[string]any{"Status": "Failure",
			"ErrorDescription": []any{"SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"}})
		w.Write(reply)
	}))
	defer srv.Close()
	h := New(localrc.Host{Name: "xs1", XAPIURL: srv.URL + "/", XAPIUser: "root",
		XAPIPassword: secret.New("wrong-password")}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		if _, err := h.XAPI(ctx); !xapi.HasCode(err, "SESSION_AUTHENTICATION_FAILED") {
			t.Fatalf("call %d: %v, want SESSION_AUTHENTICATION_FAILED", i, err)
		}
	}
	if n := logins.Load(); n != 1 {
		t.Errorf("%d logins for 3 calls after a refusal, want 1", n)
	}
}
