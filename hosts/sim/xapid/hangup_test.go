package xapid

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"xenlab/hosts/xapi/xmlrpc"
)

// stallHost is a MemHost whose first AddPort or RemovePort waits for the
// test, then fails as a real switch command does when its context ended
// (ovs-vsctl killed half-way).
type stallHost struct {
	*MemHost
	entered, proceed chan struct{}
	stalled          bool
}

func (h *stallHost) stall(ctx context.Context, port string) error {
	if h.stalled || !strings.HasPrefix(port, "vif") { // xapi's start adds eth0 to xenbr0
		return nil
	}
	h.stalled = true // effects on dom0 are serialised by the server (hostMu)
	close(h.entered)
	<-h.proceed
	return ctx.Err()
}

func (h *stallHost) AddPort(ctx context.Context, bridge, port string, ids map[string]string) error {
	if err := h.stall(ctx, port); err != nil {
		return err
	}
	return h.MemHost.AddPort(ctx, bridge, port, ids)
}

func (h *stallHost) RemovePort(ctx context.Context, bridge, port string) error {
	if err := h.stall(ctx, port); err != nil {
		return err
	}
	return h.MemHost.RemovePort(ctx, bridge, port)
}

// TestCallOutlivesItsClient: a client that hangs up while VM.start adds
// its VIF's port, or while VM.hard_shutdown removes it, does not cut the
// call off: as with xapi, the VM ends Running with its port in dom0, or
// Halted with no port and no bridge left.
func TestCallOutlivesItsClient(t *testing.T) {
	for _, method := range []string{"VM.start", "VM.hard_shutdown"} {
		t.Run(method, func(t *testing.T) {
			sh := &stallHost{MemHost: NewMemHost(t.TempDir()), entered: make(chan struct{}), proceed: make(chan struct{})}
			s, _, sess := newTestServer(t, Options{Host: sh})
			net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
			bridge := mustCall(t, s, "network.get_bridge", sess, net).(string)
			vm := newVM(t, s, sess, "domU")
			mustCall(t, s, "VIF.create", sess, vifArgs(vm, net, "0"))
			params := []any{sess, vm}
			if method == "VM.start" {
				params = append(params, false, false)
			} else {
				sh.stalled = true // let the start through
				mustCall(t, s, "VM.start", sess, vm, false, false)
				waitBooted(t, s, sess, vm)
				sh.stalled = false
			}
			domid := mustCall(t, s, "VM.get_domid", sess, vm).(int64)
			url := listen(t, s)

			body, err := xmlrpc.MarshalCall(method, params)
			if err != nil {
				t.Fatal(err)
			}
			ctx, hangUp := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			answered := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				answered <- err
			}()
			<-sh.entered
			hangUp()
			if err := <-answered; err == nil {
				t.Fatal("the client got an answer before it hung up: the test proves nothing")
			}
			close(sh.proceed)

			want := "Running"
			if method != "VM.start" {
				want = "Halted"
			}
			waitFor(t, method+" to end", func() bool {
				return mustCall(t, s, "VM.get_power_state", sess, vm) == want
			})
			ports, _ := sh.BridgePorts(context.Background(), bridge)
			if method == "VM.start" {
				domid = mustCall(t, s, "VM.get_domid", sess, vm).(int64)
				if port := fmt.Sprintf("vif%d.0", domid); !slices.Equal(ports, []string{port}) {
					t.Fatalf("bridge %s has ports %v after a start whose client hung up, want [%s]", bridge, ports, port)
				}
				return
			}
			if slices.Contains(sh.Bridges(), bridge) {
				t.Fatalf("bridge %s (ports %v) is left after a shutdown of its only VIF's VM (domid %d)", bridge, ports, domid)
			}
		})
	}
}
