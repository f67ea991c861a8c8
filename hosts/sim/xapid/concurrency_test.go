package xapid

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedHost blocks EnsureBridge until released, and can fail AddPort of
// VIF ports (the management bridge's eth0 is added at start).
type gatedHost struct {
	*MemHost
	entered chan struct{}
	release chan struct{}
	failAdd error
}

func (h *gatedHost) EnsureBridge(ctx context.Context, b string) error {
	if b != ManagementBridge && h.entered != nil {
		h.entered <- struct{}{}
		<-h.release
	}
	return h.MemHost.EnsureBridge(ctx, b)
}

func (h *gatedHost) AddPort(ctx context.Context, b, p string, ids map[string]string) error {
	if h.failAdd != nil && b != ManagementBridge {
		return h.failAdd
	}
	return h.MemHost.AddPort(ctx, b, p, ids)
}

func TestOperationInProgress(t *testing.T) {
	gh := &gatedHost{MemHost: NewMemHost(t.TempDir()), entered: make(chan struct{}), release: make(chan struct{})}
	s, _, sess := newTestServer(t, Options{Host: gh})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	vm := newVM(t, s, sess, "domU")
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
	done := make(chan error, 1)
	go func() {
		_, err := s.Call(context.Background(), "VM.start", sess, vm, false, false)
		done <- err
	}()
	<-gh.entered // VM.start is now inside dom0's switch
	ops := mustCall(t, s, "VM.get_current_operations", sess, vm).(map[string]string)
	if len(ops) != 1 {
		t.Fatalf("current_operations %v", ops)
	}
	wantErr(t, s, []string{ErrOtherOperationInProgress, "VM.start", vm}, "VM.clone", sess, vm, "c")
	close(gh.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ops := mustCall(t, s, "VM.get_current_operations", sess, vm).(map[string]string); len(ops) != 0 {
		t.Fatalf("current_operations after %v", ops)
	}
}

func TestStartRollsBackOnDom0Failure(t *testing.T) {
	gh := &gatedHost{MemHost: NewMemHost(t.TempDir()), failAdd: errors.New("ovs-vsctl: database connection failed")}
	s, _, sess := newTestServer(t, Options{Host: gh})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	vm := newVM(t, s, sess, "domU")
	mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
	_, err := s.Call(context.Background(), "VM.start", sess, vm, false, false)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != ErrInternalError {
		t.Fatalf("start: %v", err)
	}
	if ps := mustCall(t, s, "VM.get_power_state", sess, vm); ps != "Halted" {
		t.Fatalf("power %v", ps)
	}
	if ops := mustCall(t, s, "VM.get_current_operations", sess, vm).(map[string]string); len(ops) != 0 {
		t.Fatalf("operation left behind %v", ops)
	}
	if b := gh.Bridges(); len(b) != 1 {
		t.Fatalf("bridges left %v", b)
	}
}

// TestConcurrentCalls runs many clients at once (for go test -race).
func TestConcurrentCalls(t *testing.T) {
	s, mh, sess := newTestServer(t, Options{})
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "shared", "other_config": map[string]any{}}).(string)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			call := func(m string, p ...any) any {
				v, err := s.Call(ctx, m, p...)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", m, err)
				}
				return v
			}
			tpl := one(t, call("VM.get_by_name_label", sess, DevstackTemplateName))
			vm, _ := call("VM.clone", sess, tpl, fmt.Sprintf("vm%d", i)).(string)
			call("VM.set_is_a_template", sess, vm, false)
			call("VIF.create", sess, vifArgs(vm, net, "0"))
			for j := 0; j < 3; j++ {
				call("VM.start", sess, vm, false, false)
				call("event.from", sess, []any{"vm"}, "", 0.0)
				call("VM.hard_shutdown", sess, vm)
			}
			call("VM.destroy", sess, vm)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if b := mh.Bridges(); len(b) != 1 {
		t.Fatalf("bridges left %v", b)
	}
}

func TestLatencyByClass(t *testing.T) {
	f := LatencyByClass(map[string]time.Duration{"*": 1, "VM": 2, "VM.start": 3})
	for m, want := range map[string]time.Duration{"pool.get_all": 1, "VM.clone": 2, "Async.VM.clone": 2, "VM.start": 3} {
		if got := f(m); got != want {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
}
