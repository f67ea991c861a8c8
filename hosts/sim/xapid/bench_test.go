package xapid

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// BenchmarkXenlabClientRoundTrip measures one VM.get_record round trip of
// xenlab's client against the simulator over loopback HTTP.
func BenchmarkXenlabClientRoundTrip(b *testing.B) {
	s, err := New(Options{Password: "p", Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, err := s.Listen(ctx, "127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New("p")})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	vms, err := c.VMGetByNameLabel(ctx, DevstackTemplateName)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.VMGetRecord(ctx, vms[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVMStartShutdown measures an in-process start and hard shutdown
// of a VM with one VIF (ports and bridge on a MemHost).
func BenchmarkVMStartShutdown(b *testing.B) {
	s, err := New(Options{Password: "p", Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	call := func(m string, p ...any) any {
		v, err := s.Call(ctx, m, p...)
		if err != nil {
			b.Fatal(m, err)
		}
		return v
	}
	sess := call("session.login_with_password", "root", "p").(string)
	net := call("network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
	tpl := call("VM.get_by_name_label", sess, DevstackTemplateName).([]string)[0]
	vm := call("VM.clone", sess, tpl, "vm").(string)
	call("VM.set_is_a_template", sess, vm, false)
	call("VIF.create", sess, vifArgs(vm, net, "0"))
	b.ResetTimer()
	for b.Loop() {
		call("VM.start", sess, vm, false, false)
		call("VM.hard_shutdown", sess, vm)
	}
}

// BenchmarkGetAllRecords measures VM.get_all_records with 200 and 1000
// VMs of one VIF and one disk each (clones of the prebuilt template): the
// records' relation sets (VIFs, VBDs, snapshots) come from the index of
// reverse relations, so the cost grows with the number of objects.
func BenchmarkGetAllRecords(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("VMs=%d", n), func(b *testing.B) {
			s, err := New(Options{Password: "p", Logf: func(string, ...any) {}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			call := func(m string, p ...any) any {
				v, err := s.Call(ctx, m, p...)
				if err != nil {
					b.Fatal(m, err)
				}
				return v
			}
			sess := call("session.login_with_password", "root", "p").(string)
			net := call("network.create", sess, map[string]any{"name_label": "n", "other_config": map[string]any{}}).(string)
			tpl := call("VM.get_by_name_label", sess, DevstackTemplateName).([]string)[0]
			for i := range n {
				vm := call("VM.clone", sess, tpl, fmt.Sprintf("vm%d", i)).(string)
				call("VIF.create", sess, vifArgs(vm, net, "0"))
			}
			b.ResetTimer()
			for b.Loop() {
				if recs := call("VM.get_all_records", sess).(map[string]any); len(recs) < n {
					b.Fatalf("%d records", len(recs))
				}
			}
		})
	}
}
