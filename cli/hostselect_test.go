package cli

import (
	"slices"
	"strings"
	"testing"

	"xenlab/localrc"
)

// fleetLabFile is a lab of four hosts, listed out of name order, none
// reachable (ports 1 to 4 refuse at once).
const fleetLabFile = `lab = "ci"
host "xs4" {
  xapi_url      = "https://127.0.0.1:1"
  xapi_password = "x"
}
host "xs1" {
  xapi_url      = "https://127.0.0.1:2"
  xapi_password = "x"
}
host "xs3" {
  xapi_url      = "https://127.0.0.1:3"
  xapi_password = "x"
}
host "xs2" {
  xapi_url      = "https://127.0.0.1:4"
  xapi_password = "x"
}
`

func hostNames(hs []localrc.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

// TestSelectHosts: --host picks by name, --shard i/n splits by name order
// (each host in exactly one shard), both keep the lab file's order.
func TestSelectHosts(t *testing.T) {
	cfg := &localrc.Config{Lab: "ci"}
	for _, n := range []string{"xs4", "xs1", "xs3", "xs2"} {
		cfg.Hosts = append(cfg.Hosts, localrc.Host{Name: n})
	}
	cases := []struct {
		hosts []string
		shard string
		want  string
	}{
		{nil, "", "xs4 xs1 xs3 xs2"},
		{[]string{"xs3", "xs1"}, "", "xs1 xs3"},
		{nil, "1/2", "xs1 xs3"},
		{nil, "2/2", "xs4 xs2"},
		{nil, "3/4", "xs3"},
		{nil, "1/1", "xs4 xs1 xs3 xs2"},
		{[]string{"xs2", "xs4", "xs3"}, "2/2", "xs3"},
	}
	for _, c := range cases {
		l := &labFlags{hostNames: c.hosts, shard: c.shard}
		got, err := l.selectHosts(cfg)
		if err != nil || strings.Join(hostNames(got), " ") != c.want {
			t.Errorf("--host %v --shard %q: %v, %v; want %s", c.hosts, c.shard, hostNames(got), err, c.want)
		}
	}
	// Every n: the shards cover every host exactly once.
	for n := 1; n <= 5; n++ {
		var all []string
		for i := 1; i <= n; i++ {
			got, err := (&labFlags{shard: itoa(i) + "/" + itoa(n)}).selectHosts(cfg)
			if err != nil && n <= 4 {
				t.Fatalf("shard %d/%d: %v", i, n, err)
			}
			all = append(all, hostNames(got)...)
		}
		slices.Sort(all)
		if n <= 4 && strings.Join(all, " ") != "xs1 xs2 xs3 xs4" {
			t.Errorf("shards of %d cover %v", n, all)
		}
	}
}

// TestHostFlagErrors: bad --host, --shard and --max-hosts values are usage
// errors (exit 2) that name the flag; an unknown host suggests the
// closest name.
func TestHostFlagErrors(t *testing.T) {
	lab := writeFile(t, t.TempDir(), "fleet.hcl", fleetLabFile)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"status", "--host", "xs33"}, `--host "xs33": lab "ci" has no such host (did you mean "xs3"?); its hosts: xs4, xs1, xs3, xs2`},
		{[]string{"status", "--host", "db"}, `--host "db": lab "ci" has no such host; its hosts:`},
		{[]string{"status", "--host", ""}, "--host needs a host name"},
		{[]string{"plan", "--shard", "2"}, `--shard "2": want i/n`},
		{[]string{"up", "--shard", "0/2"}, `--shard "0/2": i must be between 1 and 2`},
		{[]string{"down", "--yes", "--shard", "3/2"}, `--shard "3/2": i must be between 1 and 2`},
		{[]string{"status", "--shard", "1/0"}, `--shard "1/0": n must be 1 or more`},
		{[]string{"status", "--shard", "5/5"}, "--shard 5/5 selects none of the 4 host(s) xs1, xs2, xs3, xs4"},
		{[]string{"up", "--max-hosts", "-1"}, "--max-hosts must be 1 or more (or 0: all), not -1"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, "", false, append(c.args, "-f", lab)...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, ExitUsage, c.want)
		}
	}
}

// TestStatusShard: status acts on its shard's hosts only, and one host it
// cannot read does not hide the others: the error names each that failed.
func TestStatusShard(t *testing.T) {
	lab := writeFile(t, t.TempDir(), "fleet.hcl", fleetLabFile)
	code, _, stderr := run(t, "", false, "status", "-f", lab, "--shard", "2/2")
	if code != ExitFailed || !strings.Contains(stderr, "2 of 2 hosts failed (xs4, xs2)") ||
		strings.Contains(stderr, "host xs1") || strings.Contains(stderr, "host xs3") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
