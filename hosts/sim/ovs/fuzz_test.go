package ovs

import (
	"context"
	"strings"
	"testing"
)

// FuzzModelExec feeds arbitrary command lines to the model: it must never
// panic, and must answer with the exit statuses the tools use (0, 1, 2).
func FuzzModelExec(f *testing.F) {
	for _, seed := range []string{
		"ovs-vsctl add-br br0 -- add-port br0 p1 tag=3 -- set Interface p1 type=patch options:peer=p2",
		"ovs-vsctl --bare --columns=name find Interface external_ids:xs-vif-uuid=x",
		"ovs-vsctl -f json list Port p1",
		"ovs-vsctl set Port p1 trunks=[1,2] -- remove Port p1 trunks 1 -- clear Port p1 tag",
		"ovs-ofctl add-flow br0 priority=3,in_port=p1,dl_vlan=1000,actions=mod_vlan_vid:1,NORMAL",
		"ovs-ofctl --strict del-flows br0 cookie=0x5/-1,tcp,nw_dst=10.0.0.0/8",
		"ovs-ofctl mod-flows br0 actions=resubmit(,3),output:1",
		"ovs-appctl -t ovs-vswitchd version",
	} {
		f.Add(seed)
	}
	sw, err := Open(context.Background(), f.TempDir(), ModeModel)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sw.Close() })
	if _, err := sw.Exec(context.Background(), []string{"ovs-vsctl", "--may-exist", "add-br", "br0"}, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		argv := strings.Fields(line)
		if len(argv) == 0 {
			return
		}
		r, err := sw.Exec(context.Background(), argv, []byte(line))
		if err != nil {
			return // not an OVS tool
		}
		if r.ExitCode < 0 || r.ExitCode > 2 {
			t.Errorf("%q: exit %d", line, r.ExitCode)
		}
		if r.ExitCode == 1 && len(r.Stderr) == 0 {
			t.Errorf("%q: failed without a message", line)
		}
	})
}
