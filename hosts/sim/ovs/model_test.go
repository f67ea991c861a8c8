package ovs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openModelT(t *testing.T) Switch {
	t.Helper()
	sw, err := Open(context.Background(), t.TempDir(), ModeModel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	if sw.Mode() != ModeModel {
		t.Fatalf("Mode() = %s, want model", sw.Mode())
	}
	return sw
}

// run executes a command line (split with splitLine) and returns its result.
func run(t *testing.T, sw Switch, line string) Result {
	t.Helper()
	r, err := sw.Exec(context.Background(), splitLine(line), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return r
}

// must runs a command that must succeed with no stderr, returning stdout.
func must(t *testing.T, sw Switch, line string) string {
	t.Helper()
	r := run(t, sw, line)
	if r.ExitCode != 0 || len(r.Stderr) != 0 {
		t.Fatalf("%s: exit %d, stderr %q", line, r.ExitCode, r.Stderr)
	}
	return string(r.Stdout)
}

func TestModelTransactionIsAtomic(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br0")
	for _, line := range []string{
		"ovs-vsctl add-br br1 -- add-br br1",
		"ovs-vsctl add-port br0 p1 -- set Port p1 tag=4096",
		"ovs-vsctl add-port br0 p1 -- set Interface p1 nosuchcolumn=1",
		"ovs-vsctl add-port br0 p1 -- del-br nosuch",
	} {
		if r := run(t, sw, line); r.ExitCode != 1 || !strings.HasPrefix(string(r.Stderr), "ovs-vsctl: ") {
			t.Errorf("%s: exit %d stderr %q, want exit 1 with an ovs-vsctl error", line, r.ExitCode, r.Stderr)
		}
	}
	if got := must(t, sw, "ovs-vsctl list-br"); got != "br0\n" {
		t.Errorf("list-br after failed transactions = %q, want only br0", got)
	}
	if got := must(t, sw, "ovs-vsctl list-ports br0"); got != "" {
		t.Errorf("list-ports after failed transactions = %q, want none", got)
	}
}

func TestModelErrorsAndExitCodes(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br0")
	cases := []struct {
		line   string
		code   int
		stderr string
	}{
		{"ovs-vsctl br-exists nope", 2, ""},
		{"ovs-vsctl br-exists br0", 0, ""},
		{"ovs-vsctl list-ports nope", 1, "ovs-vsctl: no bridge named nope\n"},
		{"ovs-vsctl del-br nope", 1, "ovs-vsctl: no bridge named nope\n"},
		{"ovs-vsctl add-br br0", 1, "ovs-vsctl: cannot create a bridge named br0 because a bridge named br0 already exists\n"},
		{"ovs-vsctl del-port p9", 1, "ovs-vsctl: no port named p9\n"},
		{"ovs-vsctl get Port p9 tag", 1, "ovs-vsctl: no row \"p9\" in table Port\n"},
		{"ovs-vsctl frob", 1, "ovs-vsctl: unknown command 'frob'; use --help for help\n"},
		{"ovs-ofctl dump-flows nope", 1, "ovs-ofctl: nope is not a bridge or a socket\n"},
		{"ovs-ofctl add-flow br0 priority=x,actions=drop", 1, "ovs-ofctl: invalid priority \"x\"\n"},
		{"ovs-ofctl add-flow br0 priority=1", 1, "ovs-ofctl: must specify an action\n"},
		{"ovs-ofctl add-flow br0 in_port=p9,actions=drop", 1, "ovs-ofctl: p9: invalid or unknown port for in_port\n"},
		{"ovs-appctl frob", 2, "\"frob\" is not a valid command (use \"list-commands\" to see a list of valid commands)\novs-appctl: ovs-vswitchd: server returned an error\n"},
		// Not modelled: answered as ovs-vswitchd answers any command it
		// lacks (the frob line above is compared with real OVS in
		// diff_test.go), which xenlab's verify reports as "the path is not
		// proved" rather than as a failure.
		{"ovs-appctl ofproto/trace br0 in_port=1,dl_vlan=1000", 2, "\"ofproto/trace\" is not a valid command (use \"list-commands\" to see a list of valid commands)\novs-appctl: ovs-vswitchd: server returned an error\n"},
		{"ovs-appctl dpif/show", 2, "\"dpif/show\" is not a valid command (use \"list-commands\" to see a list of valid commands)\novs-appctl: ovs-vswitchd: server returned an error\n"},
	}
	for _, c := range cases {
		r := run(t, sw, c.line)
		if r.ExitCode != c.code || string(r.Stderr) != c.stderr {
			t.Errorf("%s: exit %d stderr %q, want exit %d stderr %q", c.line, r.ExitCode, r.Stderr, c.code, c.stderr)
		}
	}
	if _, err := sw.Exec(context.Background(), []string{"ip", "link"}, nil); err == nil {
		t.Error("Exec of a non-OVS tool succeeded, want an error")
	}
}

func TestModelOfportsAndLinks(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br0")
	r := run(t, sw, "ovs-vsctl add-port br0 eth1")
	if !strings.Contains(string(r.Stderr), "could not open network device eth1 (No such device)") || r.ExitCode != 0 {
		t.Errorf("system port without a device: exit %d stderr %q", r.ExitCode, r.Stderr)
	}
	if got := must(t, sw, "ovs-vsctl get Interface eth1 ofport"); got != "-1\n" {
		t.Errorf("ofport of a port that failed to open = %q, want -1", got)
	}
	if err := sw.(Linker).AddLink(context.Background(), "vif1.0"); err != nil {
		t.Fatal(err)
	}
	must(t, sw, "ovs-vsctl add-port br0 p1 -- set Interface p1 type=internal")
	must(t, sw, "ovs-vsctl add-port br0 vif1.0")
	must(t, sw, "ovs-vsctl add-port br0 p3 -- set Interface p3 type=patch options:peer=p1")
	want := map[string]string{"p1": "1\n", "vif1.0": "2\n", "p3": "3\n", "br0": "65534\n"}
	for name, n := range want {
		if got := must(t, sw, "ovs-vsctl get Interface "+name+" ofport"); got != n {
			t.Errorf("ofport of %s = %q, want %q", name, got, n)
		}
	}
	// Re-adding eth1's device is not retroactive until the next change,
	// as with ovs-vswitchd: a later transaction retries the open.
	if err := sw.(Linker).AddLink(context.Background(), "eth1"); err != nil {
		t.Fatal(err)
	}
	must(t, sw, "ovs-vsctl set Port p1 tag=5")
	if got := must(t, sw, "ovs-vsctl get Interface eth1 ofport"); got != "4\n" {
		t.Errorf("ofport of eth1 after its device appeared = %q, want 4", got)
	}
	show := must(t, sw, "ovs-ofctl show br0")
	for _, l := range []string{" 1(p1): addr:", " 2(vif1.0): addr:", " 3(p3): addr:", " 4(eth1): addr:", " LOCAL(br0): addr:"} {
		if !strings.Contains(show, l) {
			t.Errorf("ofctl show lacks %q:\n%s", l, show)
		}
	}
}

func TestModelFlows(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br-int -- add-port br-int int-br-eth1 -- set Interface int-br-eth1 type=patch options:peer=phy-br-eth1")
	dump := func() string {
		var lines []string
		for _, l := range strings.Split(must(t, sw, "ovs-ofctl dump-flows br-int"), "\n")[1:] {
			if l == "" {
				continue
			}
			_, rest, _ := strings.Cut(l, "idle_age=")
			_, rest, _ = strings.Cut(rest, ", ")
			lines = append(lines, rest)
		}
		return strings.Join(lines, "\n")
	}
	if got := dump(); got != "priority=0 actions=NORMAL" {
		t.Errorf("new bridge flows = %q, want the default NORMAL flow", got)
	}
	must(t, sw, "ovs-ofctl del-flows br-int")
	must(t, sw, "ovs-ofctl add-flow br-int priority=1,actions=normal")
	must(t, sw, "ovs-ofctl add-flow br-int 'priority=3,in_port=int-br-eth1,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL'")
	must(t, sw, "ovs-ofctl add-flow br-int 'priority=2,in_port=int-br-eth1 actions=drop'")
	must(t, sw, "ovs-ofctl add-flow br-int 'dl_dst=AA:BB:CC:DD:EE:FF,udp,tp_dst=67,nw_src=10.0.0.9/32 actions=LOCAL'")
	want := "dl_dst=aa:bb:cc:dd:ee:ff,udp,tp_dst=67,nw_src=10.0.0.9/32 actions=LOCAL"
	_ = want
	got := dump()
	wantLines := []string{
		"udp,dl_dst=aa:bb:cc:dd:ee:ff,nw_src=10.0.0.9,tp_dst=67 actions=LOCAL",
		"priority=3,in_port=1,dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL",
		"priority=2,in_port=1 actions=drop",
		"priority=1 actions=NORMAL",
	}
	if got != strings.Join(wantLines, "\n") {
		t.Errorf("flows:\n%s\nwant:\n%s", got, strings.Join(wantLines, "\n"))
	}
	// Re-adding the same match and priority replaces the actions.
	must(t, sw, "ovs-ofctl add-flow br-int 'priority=2,in_port=1 actions=NORMAL'")
	if got := dump(); !strings.Contains(got, "priority=2,in_port=1 actions=NORMAL") || strings.Contains(got, "actions=drop") {
		t.Errorf("add-flow of an existing match did not replace it:\n%s", got)
	}
	// Non-strict delete removes every flow the match covers, strict only
	// the exact one.
	must(t, sw, "ovs-ofctl --strict del-flows br-int in_port=1")
	if n := strings.Count(dump(), "in_port=1"); n != 2 {
		t.Errorf("strict del-flows without priority removed flows: %d left, want 2", n)
	}
	must(t, sw, "ovs-ofctl del-flows br-int in_port=1")
	if got := dump(); strings.Contains(got, "in_port") {
		t.Errorf("del-flows in_port=1 left:\n%s", got)
	}
	// mod-flows adds when nothing matches (OpenFlow 1.0).
	must(t, sw, "ovs-ofctl mod-flows br-int 'priority=9,dl_vlan=7 actions=drop'")
	if got := dump(); !strings.Contains(got, "\npriority=9,dl_vlan=7 actions=drop\npriority=1 actions=NORMAL") {
		t.Errorf("mod-flows with no match did not add:\n%s", got)
	}
}

func TestModelAddFlowsFromStdin(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br0")
	r, err := sw.Exec(context.Background(), []string{"ovs-ofctl", "add-flows", "br0", "-"}, []byte("# comment\npriority=5,dl_vlan=3,actions=drop\n\npriority=6,actions=normal\n"))
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("add-flows -: %v exit %d %s", err, r.ExitCode, r.Stderr)
	}
	if got := strings.Count(must(t, sw, "ovs-ofctl dump-flows br0"), "cookie="); got != 3 {
		t.Errorf("flows after add-flows = %d, want 3", got)
	}
}

func TestQuoteAtom(t *testing.T) {
	for in, want := range map[string]string{
		"br-int": "br-int", "vif3.3": "vif3.3", "aaaa-1": "aaaa-1", "": `""`,
		"aa:bb:cc:dd:ee:ff": `"aa:bb:cc:dd:ee:ff"`, "1.6": `"1.6"`, "true": `"true"`,
		"a b": `"a b"`, `q"x`: `"q\"x"`, "_x": "_x",
		"0c0f4e47-1111-2222-3333-444455556666": `"0c0f4e47-1111-2222-3333-444455556666"`,
	} {
		if got := quoteAtom(in); got != want {
			t.Errorf("quoteAtom(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWithNetdevBridges(t *testing.T) {
	for in, want := range map[string]string{
		"add-br br0":                           "add-br br0 -- set Bridge br0 datapath_type=netdev",
		"--may-exist add-br br0":               "--may-exist add-br br0 -- set Bridge br0 datapath_type=netdev",
		"--timeout=10 -- --may-exist add-br b": "--timeout=10 -- --may-exist add-br b -- set Bridge b datapath_type=netdev",
		"add-br fake br0 5":                    "add-br fake br0 5",
		"add-port br0 add-br":                  "add-port br0 add-br",
		"list-br":                              "list-br",
		// A global option's value as the next word (ovs-vsctl's
		// getopt_long takes it so, full name or unique prefix).
		"--timeout 10 add-br b":      "--timeout 10 add-br b -- set Bridge b datapath_type=netdev",
		"--time 10 add-br b":         "--time 10 add-br b -- set Bridge b datapath_type=netdev",
		"-t 10 add-br b":             "-t 10 add-br b -- set Bridge b datapath_type=netdev",
		"-t10 add-br b":              "-t10 add-br b -- set Bridge b datapath_type=netdev",
		"--format json add-br b":     "--format json add-br b -- set Bridge b datapath_type=netdev",
		"-vt 10 add-br b":            "-vt 10 add-br b",
		"--no-wait -f json add-br b": "--no-wait -f json add-br b -- set Bridge b datapath_type=netdev",
	} {
		if got := strings.Join(withNetdevBridges(strings.Fields(in)), " "); got != want {
			t.Errorf("withNetdevBridges(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestWithoutDB: every --db of ovs-vsctl's global options goes, wherever
// it stands among them, and nothing after the first command word.
func TestWithoutDB(t *testing.T) {
	for in, want := range map[string]string{
		"--db=unix:/x list-br":                     "list-br",
		"--db unix:/x list-br":                     "list-br",
		"-t 5 --db unix:/x list-br":                "-t 5 list-br",
		"--timeout 5 --db=unix:/x list-br":         "--timeout 5 list-br",
		"-f json --db unix:/x list-br":             "-f json list-br",
		"--format json --data json --db=x list-br": "--format json --data json list-br",
		"--no-wait --db x -- list-br":              "--no-wait -- list-br",
		"br-set-external-id b k --db=x":            "br-set-external-id b k --db=x",
		"-- --db=x list-br":                        "-- --db=x list-br",
		// A command's option before the first command is a global one
		// to getopt_long, its value the next word too.
		"--columns name --db x list Bridge":         "--columns name list Bridge",
		"--id @b --db=x create Bridge name=b":       "--id @b create Bridge name=b",
		"--inactivity-probe 5 --db x set-manager t": "--inactivity-probe 5 set-manager t",
	} {
		if got := strings.Join(withoutDB(strings.Fields(in)), " "); got != want {
			t.Errorf("withoutDB(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestModelBinDirTools runs the tools a host's shell runs, checking that
// output, stdin and exit codes pass through, and that Close removes them.
func TestModelBinDirTools(t *testing.T) {
	sw, err := Open(context.Background(), t.TempDir(), ModeModel)
	if err != nil {
		t.Fatal(err)
	}
	sh := func(script string, stdin string) (string, int) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = []string{"PATH=" + sw.BinDir() + ":/usr/bin:/bin"}
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := sh("ovs-vsctl br-exists xapi1; echo $?; ovs-vsctl add-br xapi1 && ovs-vsctl br-exists xapi1 && echo yes", "")
	if out != "2\nyes\n" || code != 0 {
		t.Errorf("shell script = %q exit %d", out, code)
	}
	out, code = sh("echo 'priority=7,actions=drop' | ovs-ofctl add-flows xapi1 - && ovs-ofctl dump-flows xapi1 | grep -c priority=7", "")
	if out != "1\n" || code != 0 {
		t.Errorf("add-flows from a pipe = %q exit %d", out, code)
	}
	out, code = sh("ovs-vsctl del-br nope", "")
	if out != "ovs-vsctl: no bridge named nope\n" || code != 1 {
		t.Errorf("error through the tool = %q exit %d", out, code)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sw.BinDir(), "ovs-vsctl")); !os.IsNotExist(err) {
		t.Errorf("ovs-vsctl still in BinDir after Close: %v", err)
	}
}

// TestModelConcurrentExec runs commands from many goroutines (run with
// -race): every port lands once and numbers are unique.
func TestModelConcurrentExec(t *testing.T) {
	sw := openModelT(t)
	must(t, sw, "ovs-vsctl add-br br0")
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			name := fmt.Sprintf("p%d", i)
			if r, err := sw.Exec(ctx, []string{"ovs-vsctl", "add-port", "br0", name, "--", "set", "Interface", name, "type=internal"}, nil); err != nil || r.ExitCode != 0 {
				t.Errorf("add-port %s: %v %s", name, err, r.Stderr)
			}
			if r, err := sw.Exec(ctx, []string{"ovs-ofctl", "add-flow", "br0", fmt.Sprintf("priority=%d,in_port=%s,actions=drop", 10+i, name)}, nil); err != nil || r.ExitCode != 0 {
				t.Errorf("add-flow %s: %v %s", name, err, r.Stderr)
			}
			_, _ = sw.Exec(ctx, []string{"ovs-vsctl", "show"}, nil)
		}(i)
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := 0; i < 16; i++ {
		n := must(t, sw, fmt.Sprintf("ovs-vsctl get Interface p%d ofport", i))
		if seen[n] {
			t.Errorf("ofport %s given twice", strings.TrimSpace(n))
		}
		seen[n] = true
	}
	if got := strings.Count(must(t, sw, "ovs-ofctl dump-flows br0"), "actions=drop"); got != 16 {
		t.Errorf("drop flows = %d, want 16", got)
	}
}

func TestModelDurationsAdvance(t *testing.T) {
	sw := openModelT(t)
	ms := sw.(*modelSwitch)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms.mu.Lock()
	ms.m.now = func() time.Time { return now }
	ms.mu.Unlock()
	must(t, sw, "ovs-vsctl add-br br0")
	now = now.Add(61500 * time.Millisecond)
	if got := must(t, sw, "ovs-ofctl dump-flows br0"); !strings.Contains(got, "duration=61.500s, table=0, n_packets=0, n_bytes=0, idle_age=61, priority=0 actions=NORMAL") {
		t.Errorf("dump-flows = %q", got)
	}
	must(t, sw, "ovs-ofctl mod-flows br0 actions=drop")
	now = now.Add(2 * time.Second)
	if got := must(t, sw, "ovs-ofctl dump-flows br0"); !strings.Contains(got, "duration=63.500s, table=0, n_packets=0, n_bytes=0, idle_age=63, hard_age=2, priority=0 actions=drop") {
		t.Errorf("dump-flows after mod-flows = %q", got)
	}
}

func TestOpenUnknownMode(t *testing.T) {
	if _, err := Open(context.Background(), t.TempDir(), Mode("kernel")); err == nil {
		t.Error("Open with an unknown mode succeeded")
	}
}
