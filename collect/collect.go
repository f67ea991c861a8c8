// Package collect gathers what a person needs to see why a lab's run failed
// into a directory per host: xenlab's own per-step output, dom0's xapi and
// Open vSwitch logs, both switches' configuration and flows, domU's
// stack.sh and agent logs, and the lab's xapi objects as JSON.
//
// Collection is bounded (a time limit for the whole, a size limit per file
// and in total), never fails: what it could not collect is listed with the
// reason in the directory's MANIFEST, and never holds a secret: files that
// domU keeps to its owner alone (mode 0600: localrc, rootwrap.conf) are
// left out, and everything else passes through secret.Scrub with the lab's
// secrets.
package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
	"xenlab/steps"
)

// Defaults of Options.
const (
	DefaultTimeout  = 2 * time.Minute
	DefaultMaxFile  = 4 << 20  // bytes kept of one file: its end
	DefaultMaxTotal = 32 << 20 // bytes of one host's directory
	DefaultBase     = "xenlab-logs"
)

// Where the logs are on a XenServer dom0 (and the simulated one).
const (
	XensourceLog   = "/var/log/xensource.log"
	OpenvswitchDir = "/var/log/openvswitch"
	// DomULogDir is devstack's log directory in domU (xenlab's stack.sh
	// log and, with SCREEN_LOGDIR there, the services' screen logs).
	DomULogDir = steps.StackHome + "/logs"
)

// ManifestName is the file in a host's directory that lists what was
// collected and what could not be.
const ManifestName = "MANIFEST"

// Options bound a collection.
type Options struct {
	Timeout  time.Duration // the whole collection of one host
	MaxFile  int64         // per file
	MaxTotal int64         // per host
	// Steps, when set, is the run's whole output per step, written as
	// steps/<step>.log.
	Steps *StepLog
	// Unreachable, when set, is why the run could not reach the host at
	// all (its xapi did not answer): only what xenlab holds (the steps'
	// output) is collected, and the MANIFEST says why the rest is not,
	// instead of waiting on the host again.
	Unreachable error
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxFile <= 0 {
		o.MaxFile = DefaultMaxFile
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	return o
}

// HostDir is where a host's logs go under base: base/<lab>/<host>.
func HostDir(base, lab, host string) string { return filepath.Join(base, lab, host) }

// Secrets are the lab's secrets for secret.Scrub: every host's xapi and
// SSH passwords, domU's password, the values of devstack.extra's credential
// settings and the credentials other extra values hold (--password=x).
func Secrets(lab *localrc.Config) []secret.Secret {
	out := []secret.Secret{lab.DomU.Password}
	for _, h := range lab.Hosts {
		out = append(out, h.XAPIPassword, h.SSHPassword)
	}
	for _, s := range lab.Devstack.Extra {
		if !s.Sensitive {
			continue
		}
		for _, v := range append([]string{s.Value}, s.Array...) {
			switch {
			case v == "":
			case localrc.CredentialName(s.Name):
				out = append(out, secret.New(v))
			default:
				// A value that holds a credential (--password=x) is not one
				// as a whole: its pieces would match unrelated text.
				for _, c := range localrc.CredentialsIn(v) {
					out = append(out, secret.New(c))
				}
			}
		}
	}
	return out
}

// Result is what one host's collection did.
type Result struct {
	Dir    string
	Files  []string // relative to Dir, in the order written
	Errors []string // what could not be collected, and why
	Bytes  int64
}

// collector writes one host's directory.
type collector struct {
	dir     string
	opts    Options
	secrets []secret.Secret
	res     Result
	notes   []string // MANIFEST lines about files (truncated, left out)
}

// Host collects host's logs into dir (made if missing; files of an earlier
// collection are replaced). rep, when not nil, is the failed run whose
// steps' output is kept. It returns what it did; the error is only that
// dir could not be made or the MANIFEST not written.
func Host(ctx context.Context, lab *localrc.Config, h *hosts.Host, rep *provision.Report, dir string, opts Options) (*Result, error) {
	c := &collector{dir: dir, opts: opts.withDefaults(), secrets: Secrets(lab)}
	c.res.Dir = dir
	if err := c.prepare(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	start := time.Now()

	if rep != nil {
		c.stepOutput(rep, h.Name(), len(lab.Hosts) > 1)
	}
	if opts.Steps != nil {
		c.stepLogs(opts.Steps, h.Name(), len(lab.Hosts) > 1)
	}
	if opts.Unreachable != nil {
		c.notes = append(c.notes, "xapi, dom0 and domU: not collected: the run could not reach the host (xenlab-steps.log has its error); "+
			"`xenlab logs` collects them once it answers")
		return &c.res, c.manifest(time.Since(start))
	}
	h.Changed() // the objects as they are now, not as the run last read them
	inv, err := h.Inventory(ctx)
	if err != nil {
		c.fail("xapi-objects.json (the host's records)", err)
	} else {
		c.xapiObjects(inv, lab)
	}
	if dom0, err := h.Dom0(ctx); err != nil {
		c.fail("dom0", err)
	} else {
		var bridges []string
		if inv != nil {
			bridges = steps.LabBridges(inv, lab)
		}
		c.dom0(ctx, dom0, bridges)
	}
	if inv != nil {
		if addr := steps.DomUAddress(inv, lab); addr == "" {
			c.notes = append(c.notes, "domU: not running or no address reported: nothing collected from it")
		} else if g, err := steps.DomU(ctx, h, inv, lab); err != nil {
			c.fail("domU", err)
		} else {
			c.domU(ctx, g) // the host's connection to domU: the host closes it
		}
	}
	if ctx.Err() != nil {
		c.fail("collection", fmt.Errorf("stopped after %s (the time limit): what is listed above is what was collected", c.opts.Timeout))
	}
	return &c.res, c.manifest(time.Since(start))
}

// prepare makes dir, emptying it of an earlier collection (a directory
// with a MANIFEST): never of anything else.
func (c *collector) prepare() error {
	if _, err := os.Stat(filepath.Join(c.dir, ManifestName)); err == nil {
		if err := os.RemoveAll(c.dir); err != nil {
			return fmt.Errorf("log directory %s: %w", c.dir, err)
		}
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("log directory %s: %w", c.dir, err)
	}
	return nil
}

// fail records what could not be collected.
func (c *collector) fail(what string, err error) {
	c.res.Errors = append(c.res.Errors, what+": "+secret.Scrub(err.Error(), c.secrets...))
}

// write scrubs data and writes it as rel, within the size limits: a file
// longer than MaxFile keeps its end (from a line start); one that would
// pass MaxTotal is cut, and then no more files are written.
func (c *collector) write(rel string, data []byte) {
	text := secret.Scrub(string(data), c.secrets...)
	if int64(len(text)) > c.opts.MaxFile {
		text = tailLines(text, c.opts.MaxFile)
		c.notes = append(c.notes, fmt.Sprintf("%s: only its last %d bytes (the per-file limit)", rel, len(text)))
	}
	if left := c.opts.MaxTotal - c.res.Bytes; int64(len(text)) > left {
		if text = tailLines(text, max(left, 0)); text == "" {
			c.notes = append(c.notes, rel+": left out (the total size limit was reached)")
			return
		}
		c.notes = append(c.notes, fmt.Sprintf("%s: only its last %d bytes (the total size limit)", rel, len(text)))
	}
	p := filepath.Join(c.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.fail(rel, err)
		return
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		c.fail(rel, err)
		return
	}
	c.res.Files = append(c.res.Files, rel)
	c.res.Bytes += int64(len(text))
}

// tailLines is the last at most n bytes of text, starting at a line, so
// that no line (nor a secret in it) is cut in two.
func tailLines(text string, n int64) string {
	if int64(len(text)) <= n {
		return text
	}
	t := text[int64(len(text))-n:]
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		return t[i+1:]
	}
	return ""
}

// stepOutput writes xenlab's own output of each step: its state, error and
// last lines. In a fleet, only this host's steps (by their results' Host).
func (c *collector) stepOutput(rep *provision.Report, host string, fleet bool) {
	var all strings.Builder
	for _, group := range [][]provision.StepResult{rep.Steps, rep.Cleanup} {
		for _, s := range group {
			if fleet && s.Host != host {
				continue
			}
			fmt.Fprintf(&all, "== %s: %s", s.Name, s.State)
			if s.Duration > 0 {
				fmt.Fprintf(&all, " (%s)", s.Duration.Round(time.Millisecond))
			}
			all.WriteString("\n")
			if s.Err != nil {
				fmt.Fprintf(&all, "error: %v\n", s.Err)
			}
			if s.Reason != "" {
				fmt.Fprintf(&all, "reason: %s\n", s.Reason)
			}
			for _, l := range s.Output {
				all.WriteString(l + "\n")
			}
		}
	}
	if rep.Err != nil {
		fmt.Fprintf(&all, "== run: %v\n", rep.Err)
	}
	c.write("xenlab-steps.log", []byte(all.String()))
}

// stepLogs writes each step's whole output in the run as
// steps/<step>.log; in a fleet only this host's steps (by their events'
// Host).
func (c *collector) stepLogs(l *StepLog, host string, fleet bool) {
	for _, s := range l.text() {
		if fleet && s.host != host {
			continue
		}
		if s.name == "" || strings.ContainsAny(s.name, `/\`) || s.name[0] == '.' {
			continue // not a step's name: nothing of the run goes outside the directory
		}
		c.write("steps/"+s.name+".log", []byte(s.text))
	}
}

// labObjects is the lab's part of the inventory: its VMs (domU, the
// template) with their VIFs, VBDs and metrics, its networks and their PIFs,
// and the host, pool and SRs.
type labObjects struct {
	Hosts        map[xapi.Ref]xapi.HostRecord         `json:"host"`
	Pools        map[xapi.Ref]xapi.PoolRecord         `json:"pool"`
	SRs          map[xapi.Ref]xapi.SRRecord           `json:"SR"`
	Networks     map[xapi.Ref]xapi.NetworkRecord      `json:"network"`
	PIFs         map[xapi.Ref]xapi.PIFRecord          `json:"PIF"`
	VMs          map[xapi.Ref]xapi.VMRecord           `json:"VM"`
	VIFs         map[xapi.Ref]xapi.VIFRecord          `json:"VIF"`
	VBDs         map[xapi.Ref]xapi.VBDRecord          `json:"VBD"`
	GuestMetrics map[xapi.Ref]xapi.GuestMetricsRecord `json:"VM_guest_metrics"`
	VMMetrics    map[xapi.Ref]xapi.VMMetricsRecord    `json:"VM_metrics"`
}

func (c *collector) xapiObjects(inv *hosts.Snapshot, lab *localrc.Config) {
	o := labObjects{Hosts: inv.Hosts, Pools: inv.Pools, SRs: inv.SRs,
		Networks: map[xapi.Ref]xapi.NetworkRecord{}, PIFs: map[xapi.Ref]xapi.PIFRecord{},
		VMs: map[xapi.Ref]xapi.VMRecord{}, VIFs: map[xapi.Ref]xapi.VIFRecord{}, VBDs: map[xapi.Ref]xapi.VBDRecord{},
		GuestMetrics: map[xapi.Ref]xapi.GuestMetricsRecord{}, VMMetrics: map[xapi.Ref]xapi.VMMetricsRecord{}}
	bridges := steps.LabBridges(inv, lab)
	for r, n := range inv.Networks {
		if steps.Owned(lab.Lab, n.OtherConfig) || slices.Contains(bridges, n.Bridge) {
			o.Networks[r] = n
		}
	}
	for r, vm := range inv.VMs {
		if !steps.Owned(lab.Lab, vm.OtherConfig) {
			continue
		}
		o.VMs[r] = vm
		if m, ok := inv.GuestMetrics[vm.GuestMetrics]; ok {
			o.GuestMetrics[vm.GuestMetrics] = m
		}
		if m, ok := inv.VMMetrics[vm.Metrics]; ok {
			o.VMMetrics[vm.Metrics] = m
		}
	}
	for r, v := range inv.VIFs {
		_, vm := o.VMs[v.VM]
		_, net := o.Networks[v.Network]
		if vm || net {
			o.VIFs[r] = v
		}
	}
	for r, v := range inv.VBDs {
		if _, ok := o.VMs[v.VM]; ok {
			o.VBDs[r] = v
		}
	}
	for r, p := range inv.PIFs {
		if _, ok := o.Networks[p.Network]; ok {
			o.PIFs[r] = p
		}
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		c.fail("xapi-objects.json", err)
		return
	}
	c.write("xapi-objects.json", append(b, '\n'))
}

// run runs cmd and writes its output (stdout, then stderr when any) as rel.
func (c *collector) run(ctx context.Context, g *ssh.Client, where, rel, cmd string) {
	res, err := g.Run(ctx, cmd, ssh.Idempotent())
	if err != nil && len(res.Stdout) == 0 {
		c.fail(rel, fmt.Errorf("%s: %w", where, err)) // the error names the command and quotes its stderr
		return
	}
	out := res.Stdout
	if len(res.Stderr) > 0 {
		out = append(append(out, "\n-- stderr --\n"...), res.Stderr...)
	}
	c.write(rel, out)
}

// tail is the command that prints the end of a file, at most MaxFile
// bytes of it, so a huge log crosses the wire bounded.
func (c *collector) tail(p string) string {
	return "tail -c " + strconv.FormatInt(c.opts.MaxFile, 10) + " -- " + ssh.ShellQuote(p)
}

// dom0 collects xapi's and Open vSwitch's logs and the lab's bridges.
func (c *collector) dom0(ctx context.Context, g *ssh.Client, bridges []string) {
	c.run(ctx, g, "dom0", "dom0/xensource.log", c.tail(XensourceLog))
	res, err := g.Run(ctx, "ls -1 "+OpenvswitchDir+" 2>/dev/null; true", ssh.Idempotent())
	if err != nil {
		c.fail("dom0/openvswitch", err)
	} else {
		for _, f := range strings.Fields(string(res.Stdout)) {
			if strings.HasSuffix(f, ".log") {
				c.run(ctx, g, "dom0", "dom0/openvswitch/"+f, c.tail(path.Join(OpenvswitchDir, f)))
			}
		}
	}
	c.run(ctx, g, "dom0", "dom0/ovs-vsctl-show.txt", "ovs-vsctl show")
	for _, br := range bridges {
		c.run(ctx, g, "dom0", "dom0/ovs-ofctl-dump-flows-"+br+".txt", "ovs-ofctl dump-flows "+ssh.ShellQuote(br))
	}
}

// domU collects domU's switch (every bridge there is the lab's) and the
// files of devstack's log directory that are not its owner's alone.
func (c *collector) domU(ctx context.Context, g *ssh.Client) {
	c.run(ctx, g, "domU", "domU/ovs-vsctl-show.txt", "ovs-vsctl show")
	res, err := g.Run(ctx, "ovs-vsctl list-br", ssh.Idempotent())
	if err != nil {
		c.fail("domU/ovs-vsctl list-br", err)
	} else {
		for _, br := range strings.Fields(string(res.Stdout)) {
			c.run(ctx, g, "domU", "domU/ovs-ofctl-dump-flows-"+br+".txt", "ovs-ofctl dump-flows "+ssh.ShellQuote(br))
		}
	}
	res, err = g.Run(ctx, "find "+DomULogDir+" -maxdepth 2 -type f -printf '%m %P\\n' 2>/dev/null; true", ssh.Idempotent())
	if err != nil {
		c.fail("domU/logs", err)
		return
	}
	for _, l := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		mode, rel, ok := strings.Cut(l, " ")
		if !ok || rel == "" {
			continue
		}
		m, err := strconv.ParseUint(mode, 8, 32)
		if err != nil || m&0o077 == 0 {
			c.notes = append(c.notes, "domU/logs/"+rel+": left out (mode "+mode+": its owner's alone)")
			continue
		}
		c.run(ctx, g, "domU", "domU/logs/"+rel, c.tail(path.Join(DomULogDir, rel)))
	}
}

// manifest writes MANIFEST: what was collected, what was cut or left out,
// and what could not be collected.
func (c *collector) manifest(took time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "xenlab logs, collected %s in %s\n", time.Now().UTC().Format(time.RFC3339), took.Round(time.Millisecond))
	fmt.Fprintf(&b, "limits: %d bytes per file, %d in total, %s\n\n", c.opts.MaxFile, c.opts.MaxTotal, c.opts.Timeout)
	b.WriteString("files:\n")
	for _, f := range c.res.Files {
		st, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(f)))
		size := int64(-1)
		if err == nil {
			size = st.Size()
		}
		fmt.Fprintf(&b, "  %s (%d bytes)\n", f, size)
	}
	if len(c.notes) > 0 {
		b.WriteString("\nnotes:\n")
		for _, n := range c.notes {
			b.WriteString("  " + n + "\n")
		}
	}
	if len(c.res.Errors) > 0 {
		b.WriteString("\nnot collected:\n")
		for _, e := range c.res.Errors {
			b.WriteString("  " + strings.ReplaceAll(e, "\n", "\n    ") + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, ManifestName), []byte(b.String()), 0o644); err != nil {
		return errors.New("writing " + filepath.Join(c.dir, ManifestName) + ": " + err.Error())
	}
	return nil
}
