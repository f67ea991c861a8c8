package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"xenlab/cli"
	"xenlab/hosts/sim"
)

// cliEnv makes this program run one xenlab command (its arguments), as
// the xenlab binary would: the fleet rows run the simulated hosts and
// xenlab as processes of their own, so that the machine counts each one's
// CPU time and memory apart (wait4's resource usage, their children's
// included).
const cliEnv = "XENLAB_BENCH_CLI"

// runCLI is main.go's main: SIGINT and SIGTERM cancel the command.
func runCLI() int {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		cancel(cli.SignalCause(sig))
	}()
	code := cli.Main(ctx, os.Args[1:], cli.StdIO())
	cancel(nil)
	return code
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 64 {
			return nil, fmt.Errorf("-fleets: %q is not a number of hosts from 1 to 64", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// usage is what the machine counted for one process and its children.
type usage struct {
	cpu    time.Duration // user and system
	maxRSS int64         // bytes, of the largest process
}

func usageOf(ps *os.ProcessState) usage {
	u := usage{cpu: ps.UserTime() + ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		u.maxRSS = ru.Maxrss << 10
	}
	return u
}

// simProc is one `xenlab sim serve` process.
type simProc struct {
	cmd *exec.Cmd
	ep  sim.Endpoints
}

// fleetOVS is the fleet hosts' switch (-fleet-ovs).
var fleetOVS = "auto"

func startSim(ctx context.Context, exe, dir string) (*simProc, error) {
	cmd := exec.CommandContext(ctx, exe, "sim", "serve", "--dir", dir, "--quiet", "--ovs", fleetOVS)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	p := &simProc{cmd: cmd}
	if err == nil {
		err = json.Unmarshal(line, &p.ep)
	}
	if err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("xenlab sim serve: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return p, nil
}

// stop ends the simulated host as Ctrl-C would and waits for it.
func (p *simProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 143 {
		err = nil // ended by SIGTERM, as asked
	}
	return err
}

// fleetLab writes a lab file of the hosts, xs1..xsN (as cli's fleet tests
// do).
func fleetLab(path string, sims []*simProc) error {
	var b strings.Builder
	b.WriteString("lab = \"fleet\"\n")
	for i, s := range sims {
		ep := s.ep
		_, port, _ := net.SplitHostPort(ep.Dom0SSH)
		fmt.Fprintf(&b, "host %q {\n  xapi_url = %q\n  xapi_user = \"root\"\n  xapi_password = file(%q)\n  xapi_fingerprint = %q\n  ssh_port = %s\n  ssh_user = \"root\"\n  ssh_key = %q\n  known_hosts = %q\n}\n",
			fmt.Sprintf("xs%d", i+1), ep.XAPIURL, ep.PasswordFile, ep.XAPIFingerprint, port, ep.SSHKey, ep.KnownHosts)
	}
	ep := sims[0].ep
	fmt.Fprintf(&b, "domu {\n  template_from = \"existing\"\n  password = file(%q)\n  ssh_port = %d\n}\n", ep.PasswordFile, ep.GuestSSHPort)
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// fleetResult is one fleet row.
type fleetResult struct {
	hosts int
	wall  time.Duration // of `xenlab up`
	up    usage         // xenlab's process
	sims  time.Duration // every simulated host's process, start to stop
	exit  int
	ovs   string
}

// fleet starts n simulated hosts, brings a lab of all of them up with
// one `xenlab up` (cold), and stops them.
func fleet(ctx context.Context, exe, dir string, n int) (fleetResult, error) {
	r := fleetResult{hosts: n}
	var sims []*simProc
	defer func() {
		for _, s := range sims {
			_ = s.stop()
		}
	}()
	for i := range n {
		s, err := startSim(ctx, exe, filepath.Join(dir, fmt.Sprintf("xs%d", i+1)))
		if err != nil {
			return r, err
		}
		sims = append(sims, s)
	}
	r.ovs = sims[0].ep.OVS
	lab := filepath.Join(dir, "fleet.hcl")
	if err := fleetLab(lab, sims); err != nil {
		return r, err
	}
	up := exec.CommandContext(ctx, exe, "up", "-f", lab, "--log-dir", "", "--json")
	up.Env = append(os.Environ(), cliEnv+"=1")
	var stderr bytes.Buffer
	up.Stdout, up.Stderr = nil, &stderr
	start := time.Now()
	err := up.Run()
	r.wall = time.Since(start)
	if up.ProcessState == nil {
		return r, fmt.Errorf("xenlab up: %v", err)
	}
	r.up, r.exit = usageOf(up.ProcessState), up.ProcessState.ExitCode()
	if r.exit != 0 {
		fmt.Fprintf(os.Stderr, "bench: fleet of %d: xenlab up exit %d: %s\n", n, r.exit, tail(stderr.String()))
	}
	for _, s := range sims {
		if err := s.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: a simulated host: %v\n", err)
		}
		r.sims += usageOf(s.cmd.ProcessState).cpu
	}
	sims = nil
	return r, nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// fleetTable measures an idle simulated host (started and stopped, no
// lab) and then each fleet, and prints them.
func fleetTable(ctx context.Context, sizes []int, dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	idleDir := filepath.Join(dir, "idle")
	s, err := startSim(ctx, exe, idleDir)
	if err != nil {
		return err
	}
	if err := s.stop(); err != nil {
		return err
	}
	idle := usageOf(s.cmd.ProcessState).cpu
	var rows []fleetResult
	for _, n := range sizes {
		r, err := fleet(ctx, exe, filepath.Join(dir, fmt.Sprintf("fleet%d", n)), n)
		if err != nil {
			return fmt.Errorf("fleet of %d: %w", n, err)
		}
		rows = append(rows, r)
	}
	fmt.Printf("fleets: each simulated host a `xenlab sim serve` process (Open vSwitch %s, no latency profile: as fast as it answers), one cold `xenlab up` of them all;\n", rows[0].ovs)
	fmt.Printf("CPU time as the machine counts it (each process with its children); a simulated host started and stopped with nothing to do costs %.2f CPU-s\n", idle.Seconds())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTS\tWALL (up)\tWALL / ONE HOST'S\tXENLAB CPU-S PER HOST\tSIMULATOR CPU-S PER HOST (less idle)\tBOTH PER HOST (less idle)\tXENLAB PEAK RSS\tEXIT")
	for _, r := range rows {
		n := float64(r.hosts)
		simPer := r.sims.Seconds() / n
		fmt.Fprintf(tw, "%d\t%.2fs\t%s\t%.2f\t%.2f (%.2f)\t%.2f (%.2f)\t%d MiB\t%d\n", r.hosts, r.wall.Seconds(),
			ratio(r.wall.Seconds(), rows[0].wall.Seconds()), r.up.cpu.Seconds()/n, simPer, simPer-idle.Seconds(),
			r.up.cpu.Seconds()/n+simPer, r.up.cpu.Seconds()/n+simPer-idle.Seconds(), r.up.maxRSS>>20, r.exit)
	}
	return tw.Flush()
}
