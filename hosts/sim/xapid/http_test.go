package xapid

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

func post(t *testing.T, url string, body []byte) (*http.Response, any) {
	t.Helper()
	resp, err := http.Post(url, "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	v, err := xmlrpc.UnmarshalResponse(data)
	if err != nil {
		t.Fatalf("response: %v\n%s", err, data)
	}
	return resp, v
}

func TestHTTPWire(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	url := listen(t, s)
	if resp, _ := post(t, url, []byte("<methodCall><methodName>x</methodName><params>")); resp.StatusCode != 500 {
		t.Fatalf("truncated XML: HTTP %d", resp.StatusCode)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: HTTP %d", resp.StatusCode)
	}
	call, _ := xmlrpc.MarshalCall("VM.get_by_name_label", []any{sess, UbuntuTemplateName})
	for _, path := range []string{"", "RPC2"} {
		_, v := post(t, url+path, call)
		m := v.(map[string]any)
		if m["Status"] != "Success" || len(m["Value"].([]any)) != 1 {
			t.Fatalf("/%s: %v", path, v)
		}
	}
	// A call over xapi's 300 KB is refused by its length, with the
	// connection's end; one of exactly 300 KB is read (read_body refuses
	// a length > the limit).
	for _, size := range []int{MaxRPCSize, MaxRPCSize + 1} {
		big, _ := xmlrpc.MarshalCall("VM.get_by_name_label", []any{sess, UbuntuTemplateName})
		at := bytes.Index(big, []byte("<methodCall>")) + len("<methodCall>")
		big = slices.Insert(big, at, bytes.Repeat([]byte(" "), size-len(big))...)
		resp, v := post(t, url, big)
		switch {
		case size <= MaxRPCSize && v == nil:
			t.Fatalf("a %d-byte call: HTTP %d", len(big), resp.StatusCode)
		case size > MaxRPCSize && (resp.StatusCode != 500 || !resp.Close):
			t.Fatalf("a %d-byte call: HTTP %d, close %v; want 500 and the connection's end", len(big), resp.StatusCode, resp.Close)
		}
	}
	call, _ = xmlrpc.MarshalCall("VM.get_record", []any{sess, "OpaqueRef:bad"})
	_, v := post(t, url, call)
	m := v.(map[string]any)
	if m["Status"] != "Failure" || !slices.Equal(m["ErrorDescription"].([]any), []any{ErrHandleInvalid, "VM", "OpaqueRef:bad"}) {
		t.Fatalf("failure struct %v", v)
	}
}

func TestFaultInjection(t *testing.T) {
	opts := Options{Fault: func(n int64, method string) *Fault {
		switch n {
		case 2:
			return &Fault{Code: "INTERNAL_ERROR", Params: []string{"injected"}}
		case 3:
			return &Fault{Drop: true}
		}
		return nil
	}}
	s, _, sess := newTestServer(t, opts)
	url := listen(t, s)
	call, _ := xmlrpc.MarshalCall("pool.get_all", []any{sess})
	if _, v := post(t, url, call); v.(map[string]any)["Status"] != "Success" {
		t.Fatalf("call 1: %v", v)
	}
	if _, v := post(t, url, call); v.(map[string]any)["ErrorDescription"].([]any)[1] != "injected" {
		t.Fatalf("call 2: %v", v)
	}
	_, err := http.Post(url, "text/xml", bytes.NewReader(call))
	if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset")) {
		t.Fatalf("call 3 should lose the connection, got %v", err)
	}
	if _, v := post(t, url, call); v.(map[string]any)["Status"] != "Success" {
		t.Fatalf("call 4: %v", v)
	}
	if s.Calls() != 4 {
		t.Fatalf("calls %d", s.Calls())
	}
}

func TestEventFromWakesAndTasks(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	first := mustCall(t, s, "event.from", sess, []any{"network"}, "", 0.0).(map[string]any)
	if n := len(first["events"].([]any)); n != 1 {
		t.Fatalf("initial network events %d", n)
	}
	if first["valid_ref_counts"].(map[string]any)["network"] != xmlrpc.Int(1) {
		t.Fatalf("counts %v", first["valid_ref_counts"])
	}
	done := make(chan map[string]any, 1)
	go func() {
		v, err := s.Call(context.Background(), "event.from", sess, []any{"network"}, first["token"], 30.0)
		if err != nil {
			t.Error(err)
		}
		m, _ := v.(map[string]any)
		done <- m
	}()
	// Let event.from reach its wait, so the change below has to wake it
	// (if it has not, the change is merely seen at once: never a false failure).
	time.Sleep(100 * time.Millisecond)
	net := mustCall(t, s, "network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	// event.from would also answer at its 30 s timeout: only an answer well
	// before it proves that the change woke it.
	var got map[string]any
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("event.from did not wake on the change")
	}
	evs := got["events"].([]any)
	e := evs[len(evs)-1].(map[string]any)
	if e["class"] != "network" || e["operation"] != "add" || e["ref"] != net ||
		e["snapshot"].(map[string]any)["bridge"] != "xapi0" {
		t.Fatalf("event %v", e)
	}
	empty := mustCall(t, s, "event.from", sess, []any{"network"}, got["token"], 0.0).(map[string]any)
	if len(empty["events"].([]any)) != 0 {
		t.Fatalf("no change, yet %v", empty)
	}

	task := mustCall(t, s, "Async.VM.clone", sess,
		one(t, mustCall(t, s, "VM.get_by_name_label", sess, UbuntuTemplateName)), "async").(string)
	waitFor(t, "task", func() bool { return mustCall(t, s, "task.get_status", sess, task) != "pending" })
	res := mustCall(t, s, "task.get_result", sess, task).(string)
	vm := one(t, mustCall(t, s, "VM.get_by_name_label", sess, "async"))
	if res != "<value>"+vm+"</value>" {
		t.Fatalf("task result %q", res)
	}
	bad := mustCall(t, s, "Async.VM.start", sess, vm, false, false).(string)
	waitFor(t, "task", func() bool { return mustCall(t, s, "task.get_status", sess, bad) != "pending" })
	if ei := mustCall(t, s, "task.get_error_info", sess, bad).([]string); !slices.Equal(ei, []string{ErrVMIsTemplate, vm, "start"}) {
		t.Fatalf("error_info %v", ei)
	}
}

func TestStatePersists(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	mh := NewMemHost(t.TempDir())
	s1, err := New(Options{Host: mh, Password: "p", StateFile: file, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	sess := mustCall(t, s1, "session.login_with_password", "root", "p").(string)
	net := mustCall(t, s1, "network.create", sess, map[string]any{"name_label": "kept", "other_config": map[string]any{"k": "v"}}).(string)
	vm := newVM(t, s1, sess, "domU")
	mustCall(t, s1, "VIF.create", sess, vifArgs(vm, net, "0"))
	mustCall(t, s1, "VM.start", sess, vm, false, false)
	// The saver writes the changes shortly after, without waiting for Close.
	waitFor(t, "the state file", func() bool {
		data, _ := os.ReadFile(file)
		return bytes.Contains(data, []byte(vm))
	})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := New(Options{Host: NewMemHost(t.TempDir()), Password: "p", StateFile: file, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sess2 := mustCall(t, s2, "session.login_with_password", "root", "p").(string)
	wantErr(t, s2, []string{ErrSessionInvalid, sess}, "pool.get_all", sess)
	if mustCall(t, s2, "network.get_other_config", sess2, net).(map[string]string)["k"] != "v" {
		t.Fatal("network lost")
	}
	if ps := mustCall(t, s2, "VM.get_power_state", sess2, vm); ps != "Halted" {
		t.Fatalf("after restart (a host reboot) %v", ps)
	}
	n2 := mustCall(t, s2, "network.create", sess2, map[string]any{"name_label": "next", "other_config": map[string]any{}}).(string)
	if b := mustCall(t, s2, "network.get_bridge", sess2, n2); b != "xapi1" {
		t.Fatalf("bridge counter not kept: %v", b)
	}
	mustCall(t, s2, "VM.start", sess2, vm, false, false)
	if d := mustCall(t, s2, "VM.get_domid", sess2, vm); d != int64(2) {
		t.Fatalf("domid %v", d)
	}
}

// TestCloseEndsCallsInFlight: Close must not wait for a call that is
// still delayed (Latency, AuthFailDelay, a plugin): calls in flight end
// with the server, and none runs after Close returned.
func TestCloseEndsCallsInFlight(t *testing.T) {
	entered := make(chan struct{})
	s, _, sess := newTestServer(t, Options{Latency: func(method string) time.Duration {
		if method == "pool.get_all" {
			close(entered)
			return time.Hour
		}
		return 0
	}})
	url := listen(t, s)
	call, _ := xmlrpc.MarshalCall("pool.get_all", []any{sess})
	go func() {
		if resp, err := http.Post(url, "text/xml", bytes.NewReader(call)); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close waited %v for a delayed call", d)
	}
}
