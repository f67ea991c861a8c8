package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"xenlab/hosts/sim/devstack"
)

// keptEnv runs xenlab commands as a user would in a directory of their
// own, with the state directory (XDG_STATE_HOME) a temporary one.
type keptEnv struct {
	t     *testing.T
	state string // XDG_STATE_HOME
	work  string // the working directory, which nothing may be written into
}

func newKeptEnv(t *testing.T) *keptEnv {
	e := &keptEnv{t: t, state: t.TempDir(), work: t.TempDir()}
	// Whatever happens, no simulator of this test outlives it.
	t.Cleanup(func() {
		if rec, err := e.record(); err == nil && rec.PID > 0 && e.simAlive(rec.PID) {
			syscall.Kill(-rec.PID, syscall.SIGKILL)
			t.Errorf("the kept simulated host (pid %d) was still running at the end", rec.PID)
		}
	})
	return e
}

// run runs `xenlab args...` in the working directory, bounded by ctx.
func (e *keptEnv) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	cmd := exec.CommandContext(ctx, xenlab, args...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+e.state, "NO_COLOR=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return exitCode(err, cmd), out.String(), errb.String()
}

// upInterrupted runs `xenlab up` and interrupts it (SIGINT, as Ctrl-C)
// as soon as it says on stderr that it started the built-in simulated
// host, or lets it end if it never says so.
func (e *keptEnv) upInterrupted(ctx context.Context) (code int, stderr string) {
	e.t.Helper()
	cmd := exec.CommandContext(ctx, xenlab, "up")
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+e.state, "NO_COLOR=1")
	cmd.Stdout = io.Discard
	r, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var errb strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		errb.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "started the built-in") {
			cmd.Process.Signal(syscall.SIGINT)
		}
	}
	err = cmd.Wait()
	return exitCode(err, cmd), errb.String()
}

// keptRecord is the part of the kept host's record (cli/keep.go) the test
// reads.
type keptRecord struct {
	PID       int    `json:"pid"`
	Dir       string `json:"dir"`
	Endpoints struct {
		Isolation string `json:"isolation"`
	} `json:"endpoints"`
}

func (e *keptEnv) dir() string { return filepath.Join(e.state, "xenlab", "sim") }

func (e *keptEnv) record() (keptRecord, error) {
	var r keptRecord
	data, err := os.ReadFile(filepath.Join(e.dir(), "host.json"))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// simAlive reports whether pid is a running (not zombie) process.
func (e *keptEnv) simAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// TestKeptLab (issue 18, item 1): with no lab file, `xenlab up` starts a
// simulated host that outlives it; status, ssh into domU and dom0 (exit
// status passed through), a second up (the same host), reset and down
// act on it; down asks off a terminal, then removes the lab and stops the
// host, leaving no process and no state; afterwards status says the lab is
// not up and down that there is nothing to remove. A host stopped with
// `sim stop` comes back with the next up; one killed leaves a stale record
// that the next command removes, saying so. Nothing is written into the
// working directory.
func TestKeptLab(t *testing.T) {
	t.Parallel() // a simulated host of its own
	e := newKeptEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// Two ups at once find one host: the second waits for the first to
	// have started it (and then for the host's lock).
	type result struct {
		code   int
		stderr string
	}
	second := make(chan result, 1)
	go func() {
		code, _, stderr := e.run(ctx, "up")
		second <- result{code, stderr}
	}()
	code, _, stderr := e.run(ctx, "up")
	other := <-second
	rec, rerr := e.record()
	if rerr != nil {
		t.Fatalf("up (exit %d) left no record of its simulated host: %v\n%s", code, rerr, stderr)
	}
	if why := devstack.Unavailable(rec.Endpoints.Isolation); why != "" {
		e.run(ctx, "down", "--yes")
		t.Skip(why)
	}
	if code != 0 || other.code != 0 || strings.Contains(stderr, "started the built-in") == strings.Contains(other.stderr, "started the built-in") {
		t.Fatalf("two ups at once: exit %d and %d, want 0 and 0 with one starting the host; stderr:\n%s\n%s", code, other.code, stderr, other.stderr)
	}
	if !e.simAlive(rec.PID) {
		t.Fatalf("the simulated host (pid %d) did not outlive up", rec.PID)
	}
	const flow = "dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"
	if code, stdout, stderr := e.run(ctx, "status"); code != 0 || !strings.Contains(stdout, flow) {
		t.Fatalf("status: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := e.run(ctx, "ssh", "domu", "--", "ovs-ofctl", "dump-flows", "br-int"); code != 0 || !strings.Contains(stdout, flow) {
		t.Fatalf("ssh domu -- ovs-ofctl dump-flows br-int: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if code, _, stderr := e.run(ctx, "ssh", "dom0", "--", "exit 3"); code != 3 {
		t.Fatalf("ssh dom0 -- exit 3: exit %d, want 3; stderr:\n%s", code, stderr)
	}
	code, _, stderr = e.run(ctx, "up")
	if code != 0 || !strings.Contains(stderr, "pid "+strconv.Itoa(rec.PID)) {
		t.Fatalf("second up: exit %d, want 0 on the same host (pid %d); stderr:\n%s", code, rec.PID, stderr)
	}
	if code, _, stderr := e.run(ctx, "reset"); code != 0 {
		t.Fatalf("reset: exit %d; stderr:\n%s", code, stderr)
	}
	code, _, stderr = e.run(ctx, "down")
	if code != 2 || !strings.Contains(stderr, `VM "DevStackOSDomU"`) || !strings.Contains(stderr, "pass --yes") {
		t.Fatalf("down off a terminal without --yes: exit %d, want 2 with the list of what it would remove; stderr:\n%s", code, stderr)
	}
	code, _, stderr = e.run(ctx, "down", "--yes")
	if code != 0 || !strings.Contains(stderr, "stopped the built-in simulated host") {
		t.Fatalf("down --yes: exit %d; stderr:\n%s", code, stderr)
	}
	if e.simAlive(rec.PID) {
		t.Fatalf("the simulated host (pid %d) still runs after down", rec.PID)
	}
	if _, err := os.Stat(e.dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state directory is still there after down: %v", err)
	}
	code, _, stderr = e.run(ctx, "status")
	if code != 1 || !strings.Contains(stderr, "the lab is not up") || !strings.Contains(stderr, "xenlab up") {
		t.Fatalf("status after down: exit %d, want 1 saying how to bring the lab up; stderr:\n%s", code, stderr)
	}
	code, _, stderr = e.run(ctx, "down", "--yes")
	if code != 0 || !strings.Contains(stderr, "nothing to remove") {
		t.Fatalf("down twice: exit %d, want 0 saying there is nothing to remove; stderr:\n%s", code, stderr)
	}

	// Stopped and started again. Only up starts the kept host: each up
	// here is interrupted (Ctrl-C) as soon as it says it started the
	// host, which stays, as it says (the lab's own bring-up on a fresh
	// host is the first up's, above; the lab's return after a host reboot
	// is the steps' business, cli's TestUpOnSimulatedHost/drifts').
	if code, stderr := e.upInterrupted(ctx); code != 130 || !strings.Contains(stderr, "started the built-in") {
		t.Fatalf("up after down, interrupted once it started the host: exit %d, want 130; stderr:\n%s", code, stderr)
	}
	rec, _ = e.record()
	if !e.simAlive(rec.PID) {
		t.Fatalf("the simulated host (pid %d) an interrupted up started is not running", rec.PID)
	}
	if code, _, stderr := e.run(ctx, "sim", "stop"); code != 0 || e.simAlive(rec.PID) {
		t.Fatalf("sim stop: exit %d, pid %d alive %v; stderr:\n%s", code, rec.PID, e.simAlive(rec.PID), stderr)
	}
	if code, stdout, _ := e.run(ctx, "sim", "list"); code != 0 || !strings.Contains(stdout, "stopped") {
		t.Fatalf("sim list after sim stop: exit %d:\n%s", code, stdout)
	}
	code, _, stderr = e.run(ctx, "verify")
	if code != 1 || !strings.Contains(stderr, "is stopped") {
		t.Fatalf("verify on a stopped host: exit %d, want 1 saying it is stopped; stderr:\n%s", code, stderr)
	}
	// up starts the host again on its kept state.
	code, stderr = e.upInterrupted(ctx)
	if again, err := e.record(); err != nil || !e.simAlive(again.PID) || again.PID == rec.PID || !strings.Contains(stderr, "started the built-in") {
		t.Fatalf("up after sim stop did not start the host again (exit %d, record %+v, %v); stderr:\n%s", code, again, err, stderr)
	}

	// Killed: the record is stale.
	rec, _ = e.record()
	syscall.Kill(-rec.PID, syscall.SIGKILL)
	for i := 0; i < 200 && e.simAlive(rec.PID); i++ {
		time.Sleep(50 * time.Millisecond) // a bounded wait for a process that is not ours to reap
	}
	code, _, stderr = e.run(ctx, "status")
	if code != 1 || !strings.Contains(stderr, "record was stale and is removed") {
		t.Fatalf("status after the host was killed: exit %d; stderr:\n%s", code, stderr)
	}
	if code, _, stderr := e.run(ctx, "down", "--yes"); code != 0 || !strings.Contains(stderr, "was not running: removed its state directory") {
		t.Fatalf("down of a killed host: exit %d; stderr:\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(e.work); len(entries) != 0 {
		t.Fatalf("the working directory holds %v", entries)
	}
}

// TestQuickstartRealHostPart (issue 18, item 3): the quickstart's real-host
// part, with `xenlab sim serve` as the real host: dom0's key taken as
// ssh-keyscan gives it into a known_hosts of the user's, the xapi
// fingerprint in openssl's form, the lab file as the quickstart writes it.
// up needs no --accept-new-host-keys (xenlab gave domU its key and
// recorded it), down forgets that key and only it, and a second up, whose
// domU may have the first's address, passes too.
func TestQuickstartRealHostPart(t *testing.T) {
	t.Parallel() // a simulated host of its own
	_, ep := simServe(t)
	needStandIn(t, ep.Isolation)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	knownHosts := filepath.Join(dir, "lab_known_hosts")

	// 1. dom0's key as `ssh-keyscan -t ed25519 HOST >> lab_known_hosts`
	// writes it (taken from the simulator's own record of it), beside a
	// line of the user's that nothing may touch.
	sim, err := os.ReadFile(ep.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	dom0Name := ep.Dom0SSH
	if host, port, _ := net.SplitHostPort(ep.Dom0SSH); port == "22" {
		dom0Name = host
	} else {
		dom0Name = "[" + host + "]:" + port
	}
	var scanned string
	for _, l := range strings.Split(string(sim), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == dom0Name {
			scanned = f[0] + " " + f[1] + " " + f[2] + "\n"
		}
	}
	if scanned == "" {
		t.Fatalf("no line for dom0 (%s) in the simulator's known_hosts:\n%s", dom0Name, sim)
	}
	const users = "gateway.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ8n4RQ0PZ6ANT6bDw3iVSdvtPuJkPyF6J0b2cH4I7u\n"
	if err := os.WriteFile(knownHosts, []byte(users+scanned), 0o644); err != nil {
		t.Fatal(err)
	}
	pw, err := os.ReadFile(ep.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}

	// 2. The quickstart's lab file; the ports a user without root gets
	// are the one addition.
	ports := ""
	if _, port, _ := net.SplitHostPort(ep.Dom0SSH); port != "22" {
		ports = "\n  ssh_port         = " + port
	}
	domuPort := ""
	if ep.GuestSSHPort != 22 {
		domuPort = "\n  ssh_port = " + strconv.Itoa(ep.GuestSSHPort)
	}
	lab := filepath.Join(dir, "lab.hcl")
	if err := os.WriteFile(lab, []byte(`lab = "devstack"

host "xs1" {
  xapi_url         = "`+ep.XAPIURL+`"
  xapi_password    = env("XENAPI_PASSWORD")
  xapi_fingerprint = "`+opensslFingerprint(ep.XAPIFingerprint)+`"
  ssh_key          = "`+ep.SSHKey+`"
  known_hosts      = "lab_known_hosts"`+ports+`
}

domu {
  memory = "4GiB"`+domuPort+`
}

quantum {
  physical_network = "physnet1"
  vlan_range       = "1000:1024"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		cmd := exec.CommandContext(ctx, xenlab, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XENAPI_PASSWORD="+strings.TrimSpace(string(pw)))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return exitCode(err, cmd), out.String(), errb.String()
	}

	// 3. validate, plan, up: no flag, no key trusted on first use.
	for _, args := range [][]string{{"validate", "-f", "lab.hcl"}, {"plan", "-f", "lab.hcl"}} {
		if code, _, stderr := run(args...); code != 0 {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, code, stderr)
		}
	}
	domuLines := func() []string {
		data, _ := os.ReadFile(knownHosts)
		var out []string
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, ":domU:") {
				out = append(out, l)
			}
		}
		return out
	}
	for round := 1; round <= 2; round++ {
		code, stdout, stderr := run("up", "-f", "lab.hcl")
		if code != 0 {
			t.Fatalf("up %d: exit %d; stdout:\n%s\nstderr:\n%s", round, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "trusted new host key") || !strings.Contains(stdout, "(given by xenlab) recorded for") {
			t.Fatalf("up %d did not know domU's key before it connected:\n%s", round, stdout)
		}
		if lines := domuLines(); len(lines) != 1 {
			t.Fatalf("up %d: %d known_hosts lines of domU, want 1: %q", round, len(lines), lines)
		}
		// The walk-through by hand, on the lab file's host.
		const flow = "dl_vlan=1000 actions=mod_vlan_vid:1,NORMAL"
		if code, stdout, stderr := run("ssh", "-f", "lab.hcl", "domu", "--", "sudo", "ovs-ofctl", "dump-flows", "br-int"); code != 0 || !strings.Contains(stdout, flow) {
			t.Fatalf("ssh domu after up %d: exit %d; stdout:\n%s\nstderr:\n%s", round, code, stdout, stderr)
		}
		if code, _, stderr := run("ssh", "-f", "lab.hcl", "dom0", "--", "exit 4"); code != 4 {
			t.Fatalf("ssh dom0 -- exit 4: exit %d; stderr:\n%s", code, stderr)
		}
		// 4. down removes what the lab made and forgets domU's key, and
		// only it.
		if code, _, stderr := run("down", "-f", "lab.hcl", "--yes"); code != 0 {
			t.Fatalf("down %d: exit %d; stderr:\n%s", round, code, stderr)
		}
		data, _ := os.ReadFile(knownHosts)
		if len(domuLines()) != 0 || string(data) != users+scanned {
			t.Fatalf("known_hosts after down %d (want only the user's line and dom0's):\n%s", round, data)
		}
	}
	code, _, stderr := run("down", "-f", "lab.hcl", "--yes")
	if code != 0 || !strings.Contains(stderr, "nothing to remove") {
		t.Fatalf("down with nothing left: exit %d; stderr:\n%s", code, stderr)
	}
}

// opensslFingerprint writes "sha256:<hex>" as openssl x509 -fingerprint
// -sha256 prints it.
func opensslFingerprint(fp string) string {
	h := strings.ToUpper(strings.TrimPrefix(fp, "sha256:"))
	var pairs []string
	for i := 0; i+1 < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return "sha256 Fingerprint=" + strings.Join(pairs, ":")
}
