package xapid

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

const testPassword = "s3cret-test"

// newTestServer returns a server on a MemHost and a logged-in session.
func newTestServer(t *testing.T, opts Options) (*Server, *MemHost, string) {
	t.Helper()
	mh, _ := opts.Host.(*MemHost)
	if opts.Host == nil {
		mh = NewMemHost(t.TempDir())
		opts.Host = mh
	}
	if opts.Password == "" {
		opts.Password = testPassword
	}
	opts.Logf = t.Logf
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	sess := mustCall(t, s, "session.login_with_password", "root", opts.Password).(string)
	return s, mh, sess
}

func mustCall(t *testing.T, s *Server, method string, params ...any) any {
	t.Helper()
	v, err := s.Call(context.Background(), method, params...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return v
}

// wantErr checks that a call fails with exactly code and params.
func wantErr(t *testing.T, s *Server, want []string, method string, params ...any) {
	t.Helper()
	_, err := s.Call(context.Background(), method, params...)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: got %v, want failure %v", method, err, want)
	}
	if got := ae.Description(); !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", method, got, want)
	}
}

func one(t *testing.T, v any) string {
	t.Helper()
	l, ok := v.([]string)
	if !ok || len(l) != 1 {
		t.Fatalf("want one ref, got %#v", v)
	}
	return l[0]
}

// waitFor polls cond (bounded) — used only where the simulator completes
// work asynchronously (guest boot, tasks).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
