package steps

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
	"xenlab/templates"
)

// Where the agents step puts things in domU: Havana devstack's paths
// (docs/simulator.md, "What it reads") and xenlab's own wrapper.
const (
	StackHome      = "/opt/stack"
	DevstackDir    = StackHome + "/devstack"
	QAgtPath       = "/etc/neutron/plugins/openvswitch/ovs_neutron_plugin.ini"
	QDomUAPath     = QAgtPath + ".domU"
	RootwrapPath   = "/etc/neutron/rootwrap.conf"
	WrapperPath    = StackHome + "/xenlab-stack.sh"
	StackLog       = StackHome + "/logs/xenlab-stack.log"
	StackMarker    = StackHome + "/xenlab-stack.done"
	stagingDir     = StackHome + "/.xenlab"
	stackLogTail   = 20
	defaultStackTO = 60 * time.Minute
)

// AgentServices are the services the lab needs in ENABLED_SERVICES.
var AgentServices = localrc.AgentServices

// agents puts devstack in domU (git clone of the lab's repository and
// branch), writes its localrc, the two Open vSwitch agents' ini files and
// rootwrap.conf, and runs stack.sh through xenlab's wrapper as the stack
// user. Done = domU's files are the ones xenlab renders now, a stack.sh
// finished, both agents run in the boot domU is in, and both switches
// carry their work (Check). After a reboot of domU, a kill of the agents
// or a loss of their flows it runs devstack's rejoin-stack.sh; after a
// change of the files, unstack.sh and stack.sh again.
type agents struct {
	host *hosts.Host
	lab  *localrc.Config

	// corrupt, in tests, changes the rendered rootwrap.conf (a wrong
	// password) before it is compared or uploaded.
	corrupt func([]byte) []byte
}

func (a *agents) Name() string   { return "agents" }
func (a *agents) Deps() []string { return []string{"dom0-plugins", "bridge-placeholder"} }

// stackTimeout is the agents step's time limit, the lab's timeouts.stack:
// stack.sh downloads and installs OpenStack on a real host.
func stackTimeout(lab *localrc.Config) time.Duration {
	if lab.Timeouts.Stack > 0 {
		return lab.Timeouts.Stack
	}
	return defaultStackTO
}

// agentFile is one file the step puts in domU.
type agentFile struct {
	path   string
	data   []byte
	secret bool // mode 0600, else 0644
	exec   bool
}

// domUXAPIURL is XENAPI_CONNECTION_URL as domU sees it: the lab file's
// xapi_url. On a real host domU reaches dom0 over the management network
// at the address the workstation uses (devstack's install_os_domU.sh
// passed its own XENAPI_CONNECTION_URL on the same way).
func domUXAPIURL(h localrc.Host) string { return h.XAPIURL }

// services is ENABLED_SERVICES: the lab's, with the agents' services added
// and nova-network (n-net) left out, which cannot run beside quantum.
func services(d localrc.Devstack) []string {
	list, _, _ := localrc.UpServices(d)
	return list
}

// render returns the files for domU, from the lab and xapi's bridges.
func (a *agents) render(inv *hosts.Snapshot) ([]agentFile, error) {
	v := viewOf(inv, a.lab)
	_, intBr, err := v.integrationBridge()
	if err != nil {
		return nil, err
	}
	vmBr, err := v.vmBridge()
	if err != nil {
		return nil, err
	}
	intBr, vmBr = cmp.Or(a.lab.Quantum.Dom0Agent.IntegrationBridge, intBr), cmp.Or(a.lab.Quantum.Dom0Agent.PhysicalBridge, vmBr) // q-agt's own, when set
	h := a.host.Config
	q := a.lab.Quantum
	lrc, err := templates.RenderLocalrc(templates.Localrc{
		Lab: a.lab.Lab, XAPIURL: domUXAPIURL(h), XAPIUser: h.XAPIUser, XAPIPassword: h.XAPIPassword.Reveal(),
		Services: strings.Join(services(a.lab.Devstack), ","), Plugin: q.Plugin,
		VLANRanges: q.NetworkVLANRanges(), PhysicalNetwork: q.PhysicalNetwork,
		FlatBridge: vmBr, IntegrationBridge: intBr, StackUser: a.lab.DomU.SSHUser, Extra: a.lab.Devstack.Extra,
	})
	if err != nil {
		return nil, err
	}
	qagt, err := templates.RenderQAgt(templates.Agent{VLANRanges: q.NetworkVLANRanges(), PhysicalNetwork: q.PhysicalNetwork, TenantNetworkType: q.TenantNetworkType,
		IntegrationBridge: intBr, PhysicalBridge: vmBr, RootHelper: templates.RootHelper})
	if err != nil {
		return nil, err
	}
	domuInt, domuPhys, _ := domUBridges(a.lab)
	qdomua, err := templates.RenderQDomUA(templates.Agent{VLANRanges: q.NetworkVLANRanges(), PhysicalNetwork: q.PhysicalNetwork, TenantNetworkType: q.TenantNetworkType,
		IntegrationBridge: domuInt, PhysicalBridge: domuPhys, RootHelper: templates.DomURootHelper})
	if err != nil {
		return nil, err
	}
	rw, err := templates.RenderRootwrap(templates.Rootwrap{XAPIURL: domUXAPIURL(h), XAPIUser: h.XAPIUser,
		XAPIPassword: h.XAPIPassword.Reveal()})
	if err != nil {
		return nil, err
	}
	if a.corrupt != nil {
		rw = a.corrupt(rw)
	}
	wrap, err := templates.RenderWrapper(templates.Wrapper{Dir: DevstackDir, Log: StackLog, Marker: StackMarker})
	if err != nil {
		return nil, err
	}
	return []agentFile{
		{path: DevstackDir + "/localrc", data: lrc, secret: true},
		{path: QAgtPath, data: qagt},
		{path: QDomUAPath, data: qdomua},
		{path: RootwrapPath, data: rw, secret: true},
		{path: WrapperPath, data: wrap, exec: true},
	}, nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// domUAddr is domU's SSH address from xapi, or "" when it is not running.
func (a *agents) domUAddr(inv *hosts.Snapshot) string { return viewOf(inv, a.lab).domUAddr() }

// BootIDPath is where the kernel names the boot a Linux guest is in: a new
// random uuid at every boot (random(4)), the same after a resume.
const BootIDPath = "/proc/sys/kernel/random/boot_id"

// StackBoot is where the agents step records domU's boot_id when stack.sh
// or rejoin-stack.sh finished: the agents it started run in that boot only.
const StackBoot = StackHome + "/xenlab-stack.boot"

// The agents' processes as Havana's devstack runs them (screen_it): q-agt
// is neutron-openvswitch-agent with the plugin's ini, q-domua the same
// program with its .domU copy (lib/neutron_plugins/openvswitch_agent).
var agentConfigs = []struct{ name, conf string }{{"q-agt", QAgtPath}, {"q-domua", QDomUAPath}}

// agentsState is domU as the agents step reads it, in one command.
type agentsState struct {
	marker      string            // the wrapper's marker's first line, "" without one
	sums        map[string]string // sha256 by path of the files asked for
	bootNow     string            // boot_id now
	bootStacked string            // boot_id recorded when stack.sh or rejoin-stack.sh finished
	procs       []string          // command lines of neutron-openvswitch-agent processes
}

// running reports whether an agent with configuration file conf runs:
// a process whose command line is neutron-openvswitch-agent with
// --config-file conf (devstack writes it as //etc/..., hence path.Clean).
func (st agentsState) running(conf string) bool {
	for _, p := range st.procs {
		f := strings.Fields(p)
		for i, w := range f {
			if v, ok := strings.CutPrefix(w, "--config-file="); ok && path.Clean(v) == conf {
				return true
			}
			if w == "--config-file" && i+1 < len(f) && path.Clean(f[i+1]) == conf {
				return true
			}
		}
	}
	return false
}

// isAgent reports whether a process's command line runs the agent: the
// program itself, or an interpreter (python, bash) running it.
func isAgent(args string) bool {
	f := strings.Fields(args)
	for i := 0; i < len(f) && i < 2; i++ {
		if path.Base(f[i]) == "neutron-openvswitch-agent" {
			return true
		}
	}
	return false
}

// notRunning names the agents that do not run.
func (st agentsState) notRunning() []string {
	var out []string
	for _, ag := range agentConfigs {
		if !st.running(ag.conf) {
			out = append(out, ag.name)
		}
	}
	return out
}

// readAgents reads, in one command: the wrapper's marker's first line (the
// time stack.sh ended, so it names the run), the boot_id now and as
// recorded after the last stack.sh or rejoin-stack.sh, the agents'
// processes and the checksums of files.
func readAgents(ctx context.Context, c *ssh.Client, files []agentFile) (agentsState, error) {
	var paths []string
	for _, f := range files {
		paths = append(paths, ssh.ShellQuote(f.path))
	}
	cmd := "test -e " + StackMarker + ` && echo "marker=$(head -n 1 ` + StackMarker + `)"; ` +
		`echo "boot=$(cat ` + BootIDPath + ` 2>/dev/null)"; test -e ` + StackBoot + ` && echo "stacked=$(cat ` + StackBoot + `)"; ` +
		`ps -eo args= 2>/dev/null | grep -e '[n]eutron-openvswitch-agent' | sed 's/^/proc=/'; `
	if len(paths) > 0 {
		cmd += "sha256sum " + strings.Join(paths, " ") + " 2>/dev/null; "
	}
	cmd += "true"
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return agentsState{}, err
	}
	st := agentsState{sums: map[string]string{}}
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		switch k, v, _ := strings.Cut(l, "="); k {
		case "marker":
			st.marker = cmp.Or(v, "(empty)")
			continue
		case "boot":
			st.bootNow = strings.TrimSpace(v)
			continue
		case "stacked":
			st.bootStacked = strings.TrimSpace(v)
			continue
		case "proc":
			if isAgent(v) {
				st.procs = append(st.procs, v)
			}
			continue
		}
		if s, p, ok := strings.Cut(l, "  "); ok {
			st.sums[p] = s
		}
	}
	return st, nil
}

// agentsWork is what the agents step has to do, and why.
type agentsWork int

const (
	agentsDone   agentsWork = iota
	agentsStack             // stack.sh (again): the files or the checkout changed, or it never finished
	agentsRejoin            // rejoin-stack.sh: the agents do not run in this boot, or their switches lost their work
)

// want decides, from what domU has, whether stack.sh must run (files not
// as rendered, no marker), or rejoin-stack.sh (domU rebooted since, an
// agent not running), and says why.
func (a *agents) want(st agentsState, files []agentFile) (agentsWork, string) {
	if _, upload := st.sums[SourceManifest]; upload && a.lab.Devstack.Source == "" {
		return agentsStack, "devstack in " + DevstackDir + " is an upload, the lab file asks for a clone"
	}
	for _, f := range files {
		if st.sums[f.path] != sum(f.data) {
			if _, ok := st.sums[f.path]; !ok {
				return agentsStack, f.path + " is missing"
			}
			return agentsStack, f.path + " is not what the lab file gives now"
		}
	}
	if st.marker == "" {
		return agentsStack, "no stack.sh has finished (" + StackMarker + " is missing)"
	}
	if st.bootStacked != "" && st.bootNow != "" && st.bootStacked != st.bootNow {
		return agentsRejoin, fmt.Sprintf("domU rebooted since the agents started (boot_id %s then, %s now)", short(st.bootStacked), short(st.bootNow))
	}
	if down := st.notRunning(); len(down) > 0 {
		return agentsRejoin, strings.Join(down, " and ") + " not running in domU"
	}
	return agentsDone, ""
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// switchesWork checks what the agents made on both switches (verify's
// checks, without the placeholder's port, which is the placeholder
// step's): a flow deleted by hand or lost with a switch's restart is not
// put back by Havana's agents while they run, only when they start.
func (a *agents) switchesWork(ctx context.Context, c *ssh.Client, v labView) (string, error) {
	_, intBr, err := v.integrationBridge()
	if err != nil {
		return "", err
	}
	vmBr, err := v.vmBridge()
	if err != nil {
		return "", err
	}
	dom0, err := a.host.Dom0(ctx)
	if err != nil {
		return "", err
	}
	sw0, err := readSwitch(ctx, dom0, "", intBr, vmBr)
	if err != nil {
		return "", err
	}
	_, errs := checkDom0(sw0, intBr, vmBr, "", false, a.lab.Quantum.VLANs.Min)
	domuInt, domuPhys, _ := domUBridges(a.lab)
	swU, err := readSwitch(ctx, c, "", domuInt, domuPhys)
	if err != nil {
		return "", err
	}
	_, errsU := checkDomU(swU, domuInt, domuPhys, a.lab.Quantum.VLANs.Min)
	if errs = append(errs, errsU...); len(errs) > 0 {
		return errs[0].Error(), nil
	}
	return "", nil
}

// StackRun returns the stack.sh run the lab is on (the first line of the
// wrapper's marker), "" when none finished or domU does not run with an
// address; an error when domU runs and cannot be read.
func StackRun(ctx context.Context, h *hosts.Host, v labView) (string, error) {
	if _, ok := v.domUBoot(); !ok {
		return "", nil
	}
	c, err := domUConn(ctx, h, v)
	if err != nil {
		return "", err
	}
	st, err := readAgents(ctx, c, nil)
	if err != nil {
		return "", err
	}
	return st.marker, nil
}

// Check is done when domU runs, its files are the ones xenlab renders now,
// a stack.sh finished, domU has not rebooted since the agents started
// (its boot_id), both agents' processes run, and both switches carry
// their work.
func (a *agents) Check(ctx context.Context) (bool, error) {
	v, err := readView(ctx, a.host, a.lab)
	if err != nil {
		return false, err
	}
	if _, ok := v.domUBoot(); !ok {
		return false, nil
	}
	files, err := a.render(v.inv)
	if err != nil {
		return false, nil // the steps before make what is missing; Apply says why
	}
	if src := a.lab.Devstack.Source; src != "" {
		co, err := readCheckout(src)
		if err != nil {
			return false, nil // Apply says why
		}
		files = append(files, co.manifestFile()) // a changed checkout: upload and stack again
	}
	c, err := domUConn(ctx, a.host, v)
	if err != nil {
		return false, err
	}
	// With a clone, an upload's manifest in domU means devstack there is
	// not the clone.
	st, err := readAgents(ctx, c, append(files, agentFile{path: SourceManifest}))
	if err != nil {
		a.host.DropDomU()
		return false, err
	}
	w, _ := a.want(st, files)
	if w == agentsStack && st.marker != "" {
		reportFileChanges(ctx, c, files, st.sums, a.host.Config.XAPIPassword, a.lab.DomU.Password)
	}
	// A clone of another repository or branch is cloned again.
	if a.lab.Devstack.Source == "" && (w == agentsDone || provision.ChangesWanted(ctx)) {
		cs, err := cloneChanges(ctx, c, a.lab.Devstack)
		if err != nil {
			a.host.DropDomU()
			return false, err
		}
		provision.ReportChanges(ctx, cs...)
		if len(cs) > 0 {
			return false, nil
		}
	}
	if w != agentsDone {
		return false, nil
	}
	why, err := a.switchesWork(ctx, c, v)
	return why == "" && err == nil, err
}

// Apply runs stack.sh (through xenlab's wrapper) when domU's files are not
// the lab's or no stack.sh finished, and otherwise devstack's
// rejoin-stack.sh, which starts the agents again and so redoes their work
// on the switches; it says which and why.
func (a *agents) Apply(ctx context.Context, out provision.Output) (err error) {
	v, err := readView(ctx, a.host, a.lab)
	if err != nil {
		return err
	}
	if _, ok := v.domUBoot(); !ok {
		return errDomUDown
	}
	files, err := a.render(v.inv)
	if err != nil {
		return err
	}
	c, err := domUConn(ctx, a.host, v)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			a.host.DropDomU()
		}
	}()
	check := files
	if src := a.lab.Devstack.Source; src != "" {
		if co, err := readCheckout(src); err == nil {
			check = append(append([]agentFile(nil), files...), co.manifestFile())
		}
	}
	st, err := readAgents(ctx, c, append(check, agentFile{path: SourceManifest}))
	if err != nil {
		return err
	}
	work, why := a.want(st, check)
	if work != agentsStack && a.lab.Devstack.Source == "" {
		// A checkout of another repository or branch (an edited lab
		// file) is cloned again, and stack.sh runs on it.
		cs, err := cloneChanges(ctx, c, a.lab.Devstack)
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			work, why = agentsStack, cs[0].String()
		}
	}
	if work == agentsDone {
		if why, err = a.switchesWork(ctx, c, v); err != nil {
			return err
		}
		if why == "" {
			out.Line("the agents run in this boot of domU and both switches carry their work")
			return nil
		}
		work = agentsRejoin
		why += ": the agents redo their work only when they start"
	}
	if work == agentsRejoin {
		out.Line("rejoin-stack.sh: %s", why)
		return a.rejoin(ctx, c, st, out)
	}
	out.Line("stack.sh: %s", why)
	if st.marker != "" || len(st.procs) > 0 {
		// stack.sh refuses to run beside a running session (Havana's
		// "You are already running a stack.sh session"); devstack's
		// XenServer guest ran unstack.sh before stack.sh for that.
		if err := a.unstack(ctx, c, out); err != nil {
			return err
		}
	}
	return a.stack(ctx, c, files, out)
}

// rejoin ends what runs of the agents' session and runs devstack's
// rejoin-stack.sh, which re-creates it: the agents start again and redo
// their start-up work on both switches. Then it records the boot.
func (a *agents) rejoin(ctx context.Context, c *ssh.Client, st agentsState, out provision.Output) error {
	if len(st.procs) > 0 {
		// Havana's rejoin-stack.sh only attaches to a session that exists;
		// the session goes first (screen's quit, as unstack.sh does it),
		// and without screen the agents' processes. A signal is delivered
		// while kill returns, the exit comes later: the command waits
		// (200 looks, 20 s at most) until none of the agents runs, or
		// rejoin-stack.sh would still see the session and only attach
		// to it, and the agents would not start again.
		stop := `if command -v screen >/dev/null && screen -ls 2>/dev/null | grep -q '[0-9]\.stack'; then screen -S stack -X quit; fi; ` +
			`agents() { ps -eo pid=,args= | awk '$2 ~ /\/neutron-openvswitch-agent$/ || $3 ~ /\/neutron-openvswitch-agent$/ {print $1}'; }; ` +
			`for p in $(agents); do kill -HUP "$p" 2>/dev/null; done; ` +
			`n=0; while [ -n "$(agents)" ]; do n=$((n+1)); if [ $n -gt 200 ]; then echo "still running after SIGHUP: $(agents | tr '\n' ' ')" >&2; exit 1; fi; sleep 0.1; done`
		if _, err := c.Run(ctx, stop); err != nil {
			return fmt.Errorf("domU: stopping the agents' session: %w", err)
		}
		out.Line("stopped the agents that still ran (%d process(es))", len(st.procs))
	}
	cmd := "cd " + DevstackDir + " && ./rejoin-stack.sh </dev/null"
	res, err := c.Run(ctx, cmd)
	if err != nil {
		// The error quotes what it printed (ssh's RunError), which may
		// echo the xapi password devstack was given.
		return fmt.Errorf("domU: devstack's rejoin-stack.sh failed: %w", secret.ScrubError(err, a.host.Config.XAPIPassword))
	}
	for _, l := range strings.Split(strings.TrimSpace(secret.Scrub(string(res.Stdout), a.host.Config.XAPIPassword)), "\n") {
		if l != "" {
			out.Line("%s", l)
		}
	}
	if err := recordBoot(ctx, c); err != nil {
		return err
	}
	out.Line("rejoin-stack.sh: the agents run again")
	return nil
}

// recordBoot writes domU's boot_id to StackBoot: the agents just started
// run in this boot.
func recordBoot(ctx context.Context, c *ssh.Client) error {
	cmd := "cat " + BootIDPath + " > " + StackBoot + ".new && mv " + StackBoot + ".new " + StackBoot
	if _, err := c.Run(ctx, cmd); err != nil {
		return fmt.Errorf("domU: recording the boot the agents run in (%s): %w", StackBoot, err)
	}
	return nil
}

// unstack runs devstack's unstack.sh: the agents stop and their work goes
// from both switches.
func (a *agents) unstack(ctx context.Context, c *ssh.Client, out provision.Output) error {
	cmd := "if [ -x " + DevstackDir + "/unstack.sh ]; then cd " + DevstackDir + " && ./unstack.sh >/dev/null && echo unstacked; fi; rm -f " + StackMarker + " " + StackBoot
	res, err := c.Run(ctx, cmd)
	if err != nil {
		return fmt.Errorf("domU: unstack.sh: %w", secret.ScrubError(err, a.host.Config.XAPIPassword))
	}
	if strings.TrimSpace(string(res.Stdout)) == "unstacked" {
		out.Line("unstack.sh ran in domU")
	}
	return nil
}

// stack puts devstack and the files in domU and runs stack.sh.
func (a *agents) stack(ctx context.Context, c *ssh.Client, files []agentFile, out provision.Output) error {
	if err := a.putDevstack(ctx, c, out); err != nil {
		return err
	}
	// The files go to a staging directory of the stack user (0700), then
	// into place with install(1): as root when the stack user is not, with
	// the stack user as owner, so the agents can read them.
	if err := c.MkdirAll(ctx, stagingDir); err != nil {
		return fmt.Errorf("domU: %s: %w", stagingDir, err)
	}
	var inst []string
	for i, f := range files {
		mode := "0644"
		if f.secret {
			mode = "0600"
		} else if f.exec {
			mode = "0755"
		}
		tmp := stagingDir + "/" + strconv.Itoa(i)
		if _, err := c.UploadBytes(ctx, f.data, tmp, 0o600); err != nil {
			return fmt.Errorf("domU: uploading %s: %w", f.path, err)
		}
		inst = append(inst, "$SUDO install -D -m "+mode+` -o "$u" -g "$g" `+tmp+" "+ssh.ShellQuote(f.path))
	}
	script := `set -e; chmod 0700 ` + stagingDir + `; u=$(id -un); g=$(id -gn); SUDO=; [ "$(id -u)" = 0 ] || SUDO="sudo -n"; ` +
		strings.Join(inst, "; ") + "; rm -rf " + stagingDir
	if _, err := c.Run(ctx, script); err != nil {
		return fmt.Errorf("domU: putting the agents' files in place: %w", err)
	}
	for _, f := range files {
		if f.secret {
			out.Line("wrote %s (mode 0600, owner %s)", f.path, a.lab.DomU.SSHUser)
		} else {
			out.Line("wrote %s", f.path)
		}
	}
	// stack.sh, through the wrapper, as the stack user; its output is
	// the step's, and the tail of it the error of a failed run.
	pw := []secret.Secret{a.host.Config.XAPIPassword, a.lab.DomU.Password}
	var tail []string
	err := c.Stream(ctx, WrapperPath, func(line string, _ bool) {
		line = secret.Scrub(line, pw...)
		out.Line("%s", line)
		tail = append(tail, line)
		if len(tail) > stackLogTail {
			tail = tail[1:]
		}
	})
	if err != nil {
		var re *ssh.RunError
		if errors.As(err, &re) {
			return fmt.Errorf("domU: stack.sh failed (exit %d); the last lines of %s:\n%s", re.ExitStatus, StackLog,
				strings.Join(tail, "\n"))
		}
		return fmt.Errorf("domU: stack.sh: %w", err)
	}
	st, err := readAgents(ctx, c, nil)
	if err != nil {
		return err
	}
	if st.marker == "" {
		return fmt.Errorf("domU: stack.sh exited 0 but %s was not written", StackMarker)
	}
	if err := recordBoot(ctx, c); err != nil {
		return err
	}
	out.Line("stack.sh done: %s", StackMarker)
	return nil
}

// putDevstack puts devstack in DevstackDir: the upload of the lab's local
// checkout (devstack.source), or a clone of its repository and branch.
func (a *agents) putDevstack(ctx context.Context, c *ssh.Client, out provision.Output) error {
	if src := a.lab.Devstack.Source; src != "" {
		co, err := readCheckout(src)
		if err != nil {
			return err
		}
		r, err := syncSource(ctx, c, co)
		if err != nil {
			return err
		}
		if r.Unchanged {
			out.Line("devstack in %s is the upload of %s (unchanged)", DevstackDir, src)
		} else {
			out.Line("uploaded %s into %s: %d files (%d bytes) sent, %d entries removed", src, DevstackDir, r.Files, r.Bytes, r.Removed)
		}
		return nil
	}
	// A clone of the lab's repository and branch; an earlier upload there
	// (its manifest) is replaced.
	repo, branch := a.lab.Devstack.Repo, a.lab.Devstack.Branch
	clone := cloneScript(clonePaths{Dir: DevstackDir, Home: StackHome, Manifest: SourceManifest}, repo, branch)
	// The script goes on stdin, not in the command: it holds the
	// repository's password when the URL has one (cloneScript), which
	// would otherwise stand in the ssh command that a failed run's error
	// quotes, and in sh's arguments in domU's process list.
	res, err := c.Run(ctx, "sh -s", ssh.WithStdin(strings.NewReader(clone+"\n")))
	if err != nil {
		return fmt.Errorf("domU: git clone %s (branch %s): %w", redactURL(repo), branch, repoRedacted{err: err, repo: repo})
	}
	if strings.TrimSpace(string(res.Stdout)) == "cloned" {
		out.Line("git clone %s (branch %s) into %s", redactURL(repo), branch, DevstackDir)
		// What git said besides (-q keeps a real clone quiet): the
		// simulator's stand-in says it cloned nothing, and names the URL.
		for _, l := range strings.Split(strings.TrimSpace(string(res.Stderr)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out.Line("git: %s", redactRepo(l, repo))
			}
		}
	}
	return nil
}

// clonePaths are where cloneScript works: the checkout, the directory it
// is made in, and the manifest of an upload (devstack.source) there.
type clonePaths struct{ Dir, Home, Manifest string }

// cloneScript is the shell script that makes p.Dir a clone of repo at
// branch: an upload there, or a checkout of another repository or branch
// (an edited lab file), is replaced; a checkout that matches is kept. It
// prints "cloned" when it cloned.
//
// A password in repo's URL never reaches git's arguments or the
// checkout's .git/config: git clones the URL without it and asks for it
// through GIT_ASKPASS, a script made for this run that prints it from the
// environment (which, unlike the arguments, only domU's stack user and
// root can read), and removed when the script ends. The script itself
// holds the password, so it goes on stdin.
func cloneScript(p clonePaths, repo, branch string) string {
	plain, password := splitRepoPassword(repo)
	var b strings.Builder
	if password != "" {
		b.WriteString("XENLAB_GIT_PASSWORD=" + ssh.ShellQuote(password) + "; export XENLAB_GIT_PASSWORD; " +
			`askpass=$(mktemp) || exit 1; trap 'rm -f "$askpass"' EXIT; ` +
			`printf '#!/bin/sh\nprintf "%%s\\n" "$XENLAB_GIT_PASSWORD"\n' >"$askpass" && chmod 0700 "$askpass" || exit 1; ` +
			`GIT_ASKPASS=$askpass; export GIT_ASKPASS; GIT_TERMINAL_PROMPT=0; export GIT_TERMINAL_PROMPT; `)
	}
	b.WriteString("if [ -f " + p.Manifest + " ]; then rm -rf " + p.Dir + " " + p.Manifest + "; fi; " +
		"if [ -d " + p.Dir + "/.git ] && ! { cd " + p.Dir + " && [ \"$(git config --get remote.origin.url)\" = " + ssh.ShellQuote(plain) +
		" ] && [ \"$(git symbolic-ref -q --short HEAD || git describe --tags --exact-match HEAD 2>/dev/null)\" = " + ssh.ShellQuote(branch) +
		" ]; }; then rm -rf " + p.Dir + "; fi; " +
		"if [ ! -d " + p.Dir + "/.git ]; then mkdir -p " + p.Home + " && cd " + p.Home +
		" && git clone -q -b " + ssh.ShellQuote(branch) + " " + ssh.ShellQuote(plain) + " " + p.Dir + " && echo cloned; fi")
	return b.String()
}

// splitRepoPassword returns repo without the password of its user
// information (the user stays: git asks for that user's password), and
// the password; repo itself and "" when it has none.
func splitRepoPassword(repo string) (string, string) {
	c, ok := repoCredential(repo)
	if !ok || c.password == "" {
		return repo, ""
	}
	rawUser, _, _ := strings.Cut(c.userinfo, ":")
	return strings.Replace(repo, "//"+c.userinfo+"@", "//"+rawUser+"@", 1), c.password
}

// repoURLCredential is the user information of a repository URL that
// has a password: as spelt in the URL, and its user and password decoded.
type repoURLCredential struct{ userinfo, user, password string }

// repoCredential returns repo's user information when it holds a
// password (even an empty one), false otherwise.
func repoCredential(repo string) (repoURLCredential, bool) {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return repoURLCredential{}, false
	}
	password, ok := u.User.Password()
	_, rest, found := strings.Cut(repo, "://")
	if !ok || !found {
		return repoURLCredential{}, false
	}
	authority, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return repoURLCredential{}, false
	}
	return repoURLCredential{userinfo: authority[:i], user: u.User.Username(), password: password}, true
}

// redactURL drops a password from a repository URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// redactRepo replaces, in text (git's output, an error), the user
// information of repo when it holds a password, as redactURL does: the
// text may name the URL anywhere in a line, or as git rewrote it (a "/"
// added), where redactURL of the whole line finds no URL.
func redactRepo(text, repo string) string {
	c, ok := repoCredential(repo)
	if !ok {
		return text
	}
	return strings.ReplaceAll(text, "//"+c.userinfo+"@", "//"+c.user+":xxxxx@")
}

// repoRedacted is an error whose text has redactRepo applied; errors.Is
// and As still see the error it wraps.
type repoRedacted struct {
	err  error
	repo string
}

func (e repoRedacted) Error() string { return redactRepo(e.err.Error(), e.repo) }
func (e repoRedacted) Unwrap() error { return e.err }

// Destroy runs devstack's unstack.sh in domU, so the agents stop and what
// they made on both switches goes (the stand-in's, and dom0's through
// netwrap), and removes the marker. domU itself goes with the domU step.
func (a *agents) Destroy(ctx context.Context, out provision.Output) error {
	v, err := readView(ctx, a.host, a.lab)
	if err != nil {
		return err
	}
	if _, ok := v.domUBoot(); !ok {
		return nil // domU is gone or halted: nothing of stack.sh runs
	}
	c, err := domUConn(ctx, a.host, v)
	if err != nil {
		return err
	}
	return a.unstack(ctx, c, out)
}

// domUBridges are domU's integration and physical bridges and its NIC on
// the VM network, as the lab file has them or by default.
func domUBridges(lab *localrc.Config) (intBr, physBr, nic string) {
	intBr = lab.Quantum.DomUAgent.IntegrationBridge
	physBr = lab.Quantum.DomUAgent.PhysicalBridge
	nic = lab.Quantum.DomUAgent.PhysicalInterface
	if intBr == "" {
		intBr = "br-int"
	}
	if physBr == "" {
		physBr = "br-eth1"
	}
	if nic == "" {
		nic = "eth1"
	}
	return intBr, physBr, nic
}
