package hosts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/hosts/xapi/xmlrpc"
	"xenlab/localrc"
	"xenlab/secret"
)

// TestGateRunsBeforeEveryUse: Options.Gate (the run's host lock) runs
// after the login and before the host is used through xapi, dom0 or a
// guest; until it succeeds every use fails with its error, and once it has,
// it does not run again.
func TestGateRunsBeforeEveryUse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply, _ := xmlrpc.MarshalResponse(map[string]any{"Status": "Success", "Value": "OpaqueRef:s"})
		w.Write(reply)
	}))
	defer srv.Close()
	locked := errors.New("host xs1 is locked")
	var calls int
	fail := true
	h := New(localrc.Host{Name: "xs1", XAPIURL: srv.URL + "/", XAPIUser: "root", XAPIPassword: secret.New("pw"),
		SSHHost: "127.0.0.1", SSHPort: 1}, Options{
		Gate: func(ctx context.Context, gh *Host, c *xapi.Client) error {
			calls++
			if gh != nil && c == nil {
				t.Error("the gate got no xapi session")
			}
			if fail {
				return locked
			}
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.XAPI(ctx); !errors.Is(err, locked) {
		t.Fatalf("XAPI: %v, want the gate's error", err)
	}
	if _, err := h.Dom0(ctx); !errors.Is(err, locked) {
		t.Fatalf("Dom0: %v, want the gate's error (no SSH dial before the gate)", err)
	}
	if _, err := h.DialGuest(ctx, "domU", "127.0.0.1:1", "root", localrc.Secret{}); !errors.Is(err, locked) {
		t.Fatalf("DialGuest: %v, want the gate's error", err)
	}
	fail = false
	for range 3 {
		if _, err := h.XAPI(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 4 {
		t.Errorf("the gate ran %d times, want 4 (3 refused uses, then once)", calls)
	}
}
