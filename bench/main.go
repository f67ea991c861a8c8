// Command bench measures xenlab on a simulated XenServer host with a
// latency profile that models a real one, and the same lab brought up
// devstack's way (devstack_way.py, install_os_domU.sh's calls) on the same
// host: API calls and session calls counted apart, devstack's dom0
// commands counted as the local commands they were, the simulator's own
// guest start-ups named apart from xenlab's share of the critical path.
// Then fleets of simulated hosts, each a process of its own (fleet.go):
// wall time, CPU-seconds per host for xenlab and for the simulator, and
// xenlab's peak memory. docs/performance.md holds measured tables and says
// what each figure means.
//
//	sudo go run ./bench [-scale 20] [-fleets 1,4,16] [-fleet-ovs auto] [-single=false]
//
// It needs root (the simulated guests and the devstack stand-in run in
// mount namespaces of their own), OpenSSH's ssh client and the stock
// XenAPI Python client (Debian's python3-os-xenapi) for the devstack row;
// without them it says what is missing and skips (exit 0).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"xenlab/cli"
	"xenlab/hosts/sim"
	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/xapid"
)

// profile is what a real XenServer host costs, each figure with its source,
// divided by scale for the simulated host (docs/performance.md).
type figure struct {
	name   string
	real   time.Duration
	source string
}

var (
	roundTrip = figure{"xapi round trip (every call)", 10 * time.Millisecond,
		"assumed: HTTPS to xapi on the same LAN; no published measurement found"}
	vmClone = figure{"VM.clone (fast clone)", 2 * time.Second,
		"assumed: XenServer 6.2 User's Guide s2.2.2 calls the copy-on-write clone fast, with no figure"}
	vmStart = figure{"VM.start", 2500 * time.Millisecond,
		"xl takes 1 to 2.5 s to create a domain with a vif and disks (mirageos-devel, 2014-12, msg00033)"}
	guestBoot = figure{"guest boot to an IP", 30 * time.Second,
		"assumed; devstack's find_ip_by_name allowed 100 s (10 tries 10 s apart), an upper bound"}
	ipPoll = figure{"devstack's IP poll period", 10 * time.Second,
		"install_os_domU.sh (havana-eol d91dd6f4): find_ip_by_name, period=10"}
	haltPoll = figure{"devstack's halt poll period", 20 * time.Second,
		"install_os_domU.sh (havana-eol d91dd6f4): wait_for_VM_to_halt, sleep 20"}
)

// row is one measured operation.
type row struct {
	name       string
	wall       time.Duration
	host       counts // counted by the simulated host
	clientRT   int64  // counted by the client (-1: unknown)
	clientHS   int64
	dom0Cmds   int64 // commands run in dom0 as local commands (devstack's way; -1: none)
	exit       string
	notBuilt   bool
	skipReason string
	steps      string // the run's steps and their durations, from its JSON summary
}

// counts are the host's counters with its xapi calls told apart: API
// calls, and session calls (logins and logouts), which the latency
// profile's hook sees by method.
type counts struct {
	sim.Counters
	api, session int64
}

// methods counts the simulated xapi's calls by kind, from the latency
// hook (called once per HTTP call).
type methods struct {
	mu           sync.Mutex
	api, session int64
}

func (m *methods) hook(lat func(string) time.Duration) func(string) time.Duration {
	return func(method string) time.Duration {
		m.mu.Lock()
		switch method {
		case "session.login_with_password", "session.logout", "session.slave_local_login_with_password", "session.local_logout":
			m.session++
		default:
			m.api++
		}
		m.mu.Unlock()
		return lat(method)
	}
}

// snapshot reads the host's counters and the calls by kind.
type snapshot func() counts

func main() {
	if os.Getenv(cliEnv) == "1" { // a xenlab command of a fleet row (fleet.go)
		os.Exit(runCLI())
	}
	scale := flag.Float64("scale", 20, "divide the modelled real-host durations by `N`")
	fleets := flag.String("fleets", "1,4,16", "the fleet sizes to measure (`N,N,...`; \"\" for none)")
	single := flag.Bool("single", true, "measure one host with the latency profile, and devstack's way (false: the fleets only)")
	flag.StringVar(&fleetOVS, "fleet-ovs", "auto", "the fleet hosts' Open vSwitch: real, model or auto (`MODE`)")
	flag.Parse()
	if err := run(*scale, *fleets, *single); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func scaled(f figure, s float64) time.Duration { return time.Duration(float64(f.real) / s) }

func run(scale float64, fleets string, single bool) error {
	if os.Geteuid() != 0 {
		fmt.Println("bench: skipped: needs root (the simulated guests and the devstack stand-in run in mount namespaces of their own)")
		return nil
	}
	if scale <= 0 {
		return errors.New("-scale must be positive")
	}
	sizes, err := parseSizes(fleets)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if !single {
		dir, err := os.MkdirTemp("", "xenlab-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		return fleetTable(ctx, sizes, dir)
	}
	rt := scaled(roundTrip, scale)
	byMethod := &methods{}
	lat := byMethod.hook(xapid.LatencyByClass(map[string]time.Duration{
		"*":              rt,
		"VM.clone":       scaled(vmClone, scale),
		"Async.VM.clone": scaled(vmClone, scale),
		"VM.start":       scaled(vmStart, scale),
		"Async.VM.start": scaled(vmStart, scale),
	}))
	dir, err := os.MkdirTemp("", "xenlab-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, err := sim.Start(ctx, sim.Options{Dir: filepath.Join(dir, "host"), Latency: lat,
		GuestMetricsDelay: scaled(guestBoot, scale), Logf: func(string, ...any) {}})
	if err != nil {
		return fmt.Errorf("starting the simulated host: %w", err)
	}
	defer h.Close()
	ep := h.Endpoints()
	if why := devstack.Unavailable(ep.Isolation); why != "" {
		fmt.Println("bench: skipped:", why)
		return nil
	}
	lab := ep.LabFile
	snap := func() counts {
		byMethod.mu.Lock()
		defer byMethod.mu.Unlock()
		return counts{Counters: h.Counters(), api: byMethod.api, session: byMethod.session}
	}

	fmt.Printf("simulated host: xapi %s, Open vSwitch %s; real-host durations divided by %g\n", ep.XAPIURL, ep.OVS, scale)
	fmt.Println("latency profile (every figure marked assumed is not a measurement):")
	for _, f := range []figure{roundTrip, vmClone, vmStart, guestBoot, ipPoll, haltPoll} {
		fmt.Printf("  %-30s %8s -> %-8s %s\n", f.name, f.real, scaled(f, scale), f.source)
	}
	fmt.Println()

	var rows []row
	toBoot, cold := xenlab(ctx, snap, "xenlab: cold up", `"step":"bridge-placeholder","kind":"done"`, "up", "-f", lab, "--json")
	toBoot.name = "xenlab: cold up, to domU booted"
	rows = append(rows, toBoot, cold)
	_, noop := xenlab(ctx, snap, "xenlab: no-op up", "", "up", "-f", lab, "--json")
	rows = append(rows, noop)
	_, rs := xenlab(ctx, snap, "xenlab: reset", "", "reset", "-f", lab, "--json")
	rows = append(rows, rs)
	_, down := xenlab(ctx, snap, "xenlab: down", "", "down", "-f", lab, "--yes", "--json")
	rows = append(rows, down)
	dw := devstackWay(ctx, snap, ep, scale, dir)
	rows = append(rows, dw)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tWALL\tAPI CALLS (host)\tSESSION CALLS (host)\tSSH HANDSHAKES (host)\tDOM0 LOCAL CMDS\tGUEST STARTS (sim)\tXAPI RT (client)\tSSH HS (client)\tEXIT")
	for _, r := range rows {
		if r.skipReason != "" {
			fmt.Fprintf(tw, "%s\tn/a\t\t\t\t\t\t\t\t%s\n", r.name, r.skipReason)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2fs\t%d\t%d\t%d\t%s\t%d (%.2fs)\t%s\t%s\t%s\n", r.name, r.wall.Seconds(), r.host.api, r.host.session,
			r.host.SSHHandshakes, count(r.dom0Cmds), r.host.GuestStarts, r.host.GuestStartTime.Seconds(), count(r.clientRT), count(r.clientHS), r.exit)
	}
	tw.Flush()

	fmt.Println()
	model := scaled(vmClone, scale) + scaled(vmStart, scale) + scaled(guestBoot, scale)
	perCall := time.Duration(toBoot.host.api+toBoot.host.session) * rt
	own := toBoot.wall - model - toBoot.host.GuestStartTime - perCall
	fmt.Printf("to domU booted, %.2fs: the modelled critical path (clone + start + boot, scaled) %.2fs; the simulator starting the guest (its switch and SSH server) %.2fs;\n",
		toBoot.wall.Seconds(), model.Seconds(), toBoot.host.GuestStartTime.Seconds())
	fmt.Printf("  the modelled per-call latency of its %d calls %.2fs (an upper bound of what lies on the path); xenlab's own share, the rest: %.2fs\n",
		toBoot.host.api+toBoot.host.session, perCall.Seconds(), own.Seconds())
	fmt.Printf("xenlab to domU booted / modelled critical path: %s; without the simulator's guest start-up: %s\n",
		ratio(toBoot.wall.Seconds(), model.Seconds()), ratio((toBoot.wall-toBoot.host.GuestStartTime).Seconds(), model.Seconds()))
	if dw.skipReason == "" {
		fmt.Printf("devstack's way / xenlab, to domU booted: wall %s (without the simulator's guest start-ups %s), API calls %s, session calls %s, all xapi round trips %s, SSH handshakes %s\n",
			ratio(dw.wall.Seconds(), toBoot.wall.Seconds()),
			ratio((dw.wall-dw.host.GuestStartTime).Seconds(), (toBoot.wall-toBoot.host.GuestStartTime).Seconds()),
			ratio(float64(dw.host.api), float64(toBoot.host.api)),
			ratio(float64(dw.host.session), float64(toBoot.host.session)),
			ratio(float64(dw.host.api+dw.host.session), float64(toBoot.host.api+toBoot.host.session)),
			ratio(float64(dw.host.SSHHandshakes), float64(toBoot.host.SSHHandshakes)))
	}
	fmt.Printf("reset / (down + cold up): %s\n", ratio(rs.wall.Seconds(), down.wall.Seconds()+cold.wall.Seconds()))
	fmt.Println("xenlab cold up, steps:", cold.steps)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("go %s, %d CPUs; this process (xenlab and the simulated host together): %d MiB from the OS\n",
		runtime.Version(), runtime.NumCPU(), ms.Sys>>20)
	h.Close()

	if len(sizes) > 0 {
		fmt.Println()
		return fleetTable(ctx, sizes, dir)
	}
	return nil
}

func count(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// xenlab runs one xenlab command in this process against the simulated
// host. When marker is not "", the first row is the state when a JSON line
// containing it was written (a point inside the run).
func xenlab(ctx context.Context, snap snapshot, name, marker string, args ...string) (at, whole row) {
	w := &watcher{marker: marker, snap: snap}
	var stderr bytes.Buffer
	w.start, w.c0 = time.Now(), snap()
	code := cli.Main(ctx, args, cli.IO{In: strings.NewReader(""), Out: w, Err: &stderr})
	whole = row{name: name, wall: time.Since(w.start), host: sub(snap(), w.c0), exit: fmt.Sprint(code), dom0Cmds: -1}
	whole.clientRT, whole.clientHS = w.clientCounters()
	whole.steps = w.steps()
	at = w.at
	at.clientRT, at.clientHS, at.dom0Cmds = -1, -1, -1
	at.exit = "-"
	if code != 0 && code != 1 {
		fmt.Fprintf(os.Stderr, "bench: xenlab %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return at, whole
}

func sub(a, b counts) counts {
	return counts{Counters: sim.Counters{XAPICalls: a.XAPICalls - b.XAPICalls, SSHHandshakes: a.SSHHandshakes - b.SSHHandshakes,
		GuestStarts: a.GuestStarts - b.GuestStarts, GuestStartTime: a.GuestStartTime - b.GuestStartTime},
		api: a.api - b.api, session: a.session - b.session}
}

// watcher is xenlab's stdout: it keeps the output and notes the time and
// the host's counts when the marker line is written (the engine writes
// events as they happen, from the run's goroutine).
type watcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	snap   snapshot
	start  time.Time
	c0     counts
	at     row
	seen   bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.marker != "" && !w.seen && bytes.Contains(p, []byte(w.marker)) {
		w.seen = true
		w.at = row{wall: time.Since(w.start), host: sub(w.snap(), w.c0)}
	}
	return w.buf.Write(p)
}

// steps lists the run's steps with their durations, from its summary.
func (w *watcher) steps() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(w.buf.Bytes()), []byte("\n"))
	var sum struct {
		Kind  string
		Steps []struct {
			Name     string
			State    string
			Duration float64 `json:"duration_seconds"`
		}
	}
	if json.Unmarshal(lines[len(lines)-1], &sum) != nil || sum.Kind != "summary" {
		return ""
	}
	var parts []string
	for _, s := range sum.Steps {
		parts = append(parts, fmt.Sprintf("%s %.2fs", s.Name, s.Duration))
	}
	return strings.Join(parts, ", ")
}

// clientCounters reads xenlab's own counts from its JSON counters line.
func (w *watcher) clientCounters() (rt, hs int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l struct {
			Kind     string
			Counters map[string]struct {
				XAPIRoundTrips int64 `json:"xapi_round_trips"`
				SSHHandshakes  int64 `json:"ssh_handshakes"`
			}
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Kind == "counters" {
			for _, c := range l.Counters {
				rt += c.XAPIRoundTrips
				hs += c.SSHHandshakes
			}
			return rt, hs
		}
	}
	return -1, -1
}

// devstackWay runs devstack_way.py against the host, then removes what
// it made (uncounted).
func devstackWay(ctx context.Context, snap snapshot, ep sim.Endpoints, scale float64, dir string) row {
	name := "devstack's way, to domU booted"
	if _, err := exec.LookPath("ssh"); err != nil {
		return row{name: name, skipReason: "skipped: no ssh client (Debian's openssh-client)"}
	}
	python := pythonWithXenAPI()
	if python == "" {
		return row{name: name, skipReason: "skipped: no python3 with the XenAPI client (Debian's python3-os-xenapi)"}
	}
	script, netwrap, err := files()
	if err != nil {
		return row{name: name, skipReason: "skipped: " + err.Error()}
	}
	control, err := os.MkdirTemp(dir, "ssh-")
	if err != nil {
		return row{name: name, skipReason: "skipped: " + err.Error()}
	}
	cfg, _ := json.Marshal(map[string]any{
		"xapi_url": ep.XAPIHTTPURL, "password_file": ep.PasswordFile, "dom0_ssh": ep.Dom0SSH,
		"ssh_key": ep.SSHKey, "known_hosts": ep.KnownHosts, "guest_ssh_port": ep.GuestSSHPort,
		"netwrap": netwrap, "scale": 1 / scale, "control_dir": control,
	})
	c0, start := snap(), time.Now()
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Stdin = bytes.NewReader(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	r := row{name: name, wall: time.Since(start), host: sub(snap(), c0), exit: "0"}
	defer func() {
		clean := exec.CommandContext(ctx, python, script, "--cleanup")
		clean.Stdin = bytes.NewReader(cfg)
		if out, err := clean.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: devstack way cleanup: %v\n%s", err, out)
		}
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: devstack_way.py: %v\n%s", err, stderr.String())
		r.exit = "failed"
		r.clientRT, r.clientHS, r.dom0Cmds = -1, -1, -1
		return r
	}
	var res struct {
		Wall         float64 `json:"wall_seconds"`
		RoundTrip    int64   `json:"xapi_round_trips"`
		SSH          int64   `json:"ssh_connections"`
		Dom0         int64   `json:"dom0_commands"`
		Model        int64   `json:"model_round_trips"` // the guest's own halt, played by the script
		ModelSession int64   `json:"model_session_calls"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		fmt.Fprintf(os.Stderr, "bench: devstack_way.py printed %q: %v\n", out, err)
	}
	r.clientRT, r.clientHS, r.dom0Cmds = res.RoundTrip, res.SSH, res.Dom0
	r.host.XAPICalls -= res.Model
	r.host.session -= res.ModelSession
	r.host.api -= res.Model - res.ModelSession
	return r
}

// pythonWithXenAPI is the first python3 (on PATH, then Debian's) that
// imports the stock XenAPI client, or "".
func pythonWithXenAPI() string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		for _, imp := range []string{"from os_xenapi.client import XenAPI", "import XenAPI"} {
			if exec.Command(py, "-c", imp).Run() == nil {
				return py
			}
		}
	}
	return ""
}

// files finds devstack_way.py and xenlab's netwrap plugin beside this
// program's source (go run ./bench from the repository's root).
func files() (script, netwrap string, err error) {
	for _, dir := range []string{".", ".."} {
		s := filepath.Join(dir, "bench", "devstack_way.py")
		n := filepath.Join(dir, "scripts", "netwrap")
		if _, err := os.Stat(s); err == nil {
			if st, err := os.Stat(n); err == nil && !st.IsDir() {
				return s, n, nil
			}
			if m, _ := filepath.Glob(filepath.Join(n, "*")); len(m) > 0 {
				return s, m[0], nil
			}
		}
	}
	return "", "", errors.New("run it from the repository's root: bench/devstack_way.py or scripts/netwrap not found")
}
