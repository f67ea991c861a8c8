package steps

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
var AgentServices = []string{"q-svc", "q-agt", "q-dhcp", "q-l3", "q-meta", "q-domua"}

// agents puts devstack in domU (git clone of the lab's repository and
// branch), writes its localrc, the two Open vSwitch agents' ini files and
// rootwrap.conf, and runs stack.sh through xenlab's wrapper as the stack
// user. Done = the wrapper's marker exists and the files in domU are the
// ones xenlab renders now (checksums, one SSH command).
type agents struct {
	host *hosts.Host
	lab  *localrc.Config

	mu   sync.Mutex
	domu *ssh.Client // kept from Check to Apply: one connection per run
	// stackRun is the first line of the wrapper's marker as this run found
	// or left it ("" until then): it names the stack.sh run the lab is
	// on, which the snapshot step compares with its snapshot's.
	stackRun string

	// corrupt, in tests, changes the rendered rootwrap.conf (a wrong
	// password) before it is compared or uploaded.
	corrupt func([]byte) []byte
}

func (a *agents) Name() string   { return "agents" }
func (a *agents) Deps() []string { return []string{"dom0-plugins", "bridge-placeholder"} }

// Timeout is the lab's timeouts.stack: stack.sh downloads and installs
// OpenStack on a real host.
func (a *agents) Timeout() time.Duration {
	if a.lab.Timeouts.Stack > 0 {
		return a.lab.Timeouts.Stack
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
	var out []string
	for _, s := range d.Effective() {
		if s != "n-net" {
			out = append(out, s)
		}
	}
	for _, s := range AgentServices {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// render returns the files for domU, from the lab and xapi's bridges.
func (a *agents) render(inv *hosts.Snapshot) ([]agentFile, error) {
	_, intBr, err := integrationBridge(inv, a.lab)
	if err != nil {
		return nil, err
	}
	vmNet, _, err := findNetwork(inv, a.lab, RoleVMNetwork, a.lab.Networks.VM)
	if err != nil {
		return nil, err
	}
	if vmNet == "" {
		return nil, errors.New("the VM network does not exist (step networks)")
	}
	vmBr := inv.Networks[vmNet].Bridge
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
	qagt, err := templates.RenderQAgt(templates.Agent{VLANRanges: q.NetworkVLANRanges(), PhysicalNetwork: q.PhysicalNetwork,
		IntegrationBridge: intBr, PhysicalBridge: vmBr, RootHelper: templates.RootHelper})
	if err != nil {
		return nil, err
	}
	domuInt, domuPhys := q.DomUAgent.IntegrationBridge, q.DomUAgent.PhysicalBridge
	if domuInt == "" {
		domuInt = "br-int"
	}
	if domuPhys == "" {
		domuPhys = "br-eth1"
	}
	qdomua, err := templates.RenderQDomUA(templates.Agent{VLANRanges: q.NetworkVLANRanges(), PhysicalNetwork: q.PhysicalNetwork,
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
func (a *agents) domUAddr(inv *hosts.Snapshot) string {
	vm := findDomU(inv, a.lab.Lab)
	if vm == "" {
		return ""
	}
	ip := guestIP(inv, vm, a.lab.DomU.Devices.Management)
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, strconv.Itoa(a.lab.DomU.SSHPort))
}

// dial connects to domU as the stack user, as devstack's
// install_os_domU.sh did (dom0's key, then the guest password); the host
// key is the one the boot step recorded.
func (a *agents) dial(ctx context.Context, addr string) (*ssh.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.domu != nil {
		return a.domu, nil
	}
	c, err := a.host.DialGuest(ctx, "domU", addr, a.lab.DomU.SSHUser, a.lab.DomU.Password)
	if err != nil {
		return nil, err
	}
	a.domu = c
	return c, nil
}

func (a *agents) setStackRun(m string) {
	a.mu.Lock()
	a.stackRun = m
	a.mu.Unlock()
}

// StackRun returns the stack.sh run the lab is on, "" when the agents step
// has not checked or applied in this run.
func (a *agents) StackRun() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stackRun
}

func (a *agents) hangUp() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.domu != nil {
		a.domu.Close()
		a.domu = nil
	}
}

// state reads, in one command, the marker's first line ("" when there is
// no marker; the wrapper writes the time stack.sh ended, so it names the
// run) and the checksums of the files in domU.
func state(ctx context.Context, c *ssh.Client, files []agentFile) (marker string, sums map[string]string, err error) {
	var paths []string
	for _, f := range files {
		paths = append(paths, ssh.ShellQuote(f.path))
	}
	cmd := "test -e " + StackMarker + ` && echo "marker=$(head -n 1 ` + StackMarker + `)"; sha256sum ` + strings.Join(paths, " ") + " 2>/dev/null; true"
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return "", nil, err
	}
	sums = map[string]string{}
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if m, ok := strings.CutPrefix(l, "marker="); ok {
			marker = cmp.Or(m, "(empty)")
			continue
		}
		if s, p, ok := strings.Cut(l, "  "); ok {
			sums[p] = s
		}
	}
	return marker, sums, nil
}

func (a *agents) Check(ctx context.Context) (bool, error) {
	inv, err := a.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	addr := a.domUAddr(inv)
	if addr == "" {
		return false, nil
	}
	files, err := a.render(inv)
	if err != nil {
		return false, nil // the steps before make what is missing; Apply says why
	}
	c, err := a.dial(ctx, addr)
	if err != nil {
		return false, err
	}
	if src := a.lab.Devstack.Source; src != "" {
		co, err := readCheckout(src)
		if err != nil {
			return false, nil // Apply says why
		}
		files = append(files, co.manifestFile()) // a changed checkout: upload and stack again
	}
	// With a clone, an upload's manifest in domU means devstack there is
	// not the clone.
	marker, sums, err := state(ctx, c, append(files, agentFile{path: SourceManifest}))
	if err != nil {
		a.hangUp()
		return false, err
	}
	if _, upload := sums[SourceManifest]; marker == "" || upload && a.lab.Devstack.Source == "" {
		return false, nil
	}
	for _, f := range files {
		if sums[f.path] != sum(f.data) {
			return false, nil
		}
	}
	a.setStackRun(marker)
	return true, nil // the connection stays for verify, which closes it
}

// Apply keeps its connection to domU for verify when it succeeds.
func (a *agents) Apply(ctx context.Context, out provision.Output) (err error) {
	defer func() {
		if err != nil {
			a.hangUp()
		}
	}()
	inv, err := a.host.Inventory(ctx)
	if err != nil {
		return err
	}
	addr := a.domUAddr(inv)
	if addr == "" {
		return errors.New("domU is not running or reports no address (step boot)")
	}
	files, err := a.render(inv)
	if err != nil {
		return err
	}
	c, err := a.dial(ctx, addr)
	if err != nil {
		return err
	}
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
	if res, err := c.Run(ctx, script); err != nil {
		return fmt.Errorf("domU: putting the agents' files in place: %w: %s", err, strings.TrimSpace(string(res.Stderr)))
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
	err = c.Stream(ctx, WrapperPath, func(line string, _ bool) {
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
	marker, _, err := state(ctx, c, nil)
	if err != nil {
		return err
	}
	if marker == "" {
		return fmt.Errorf("domU: stack.sh exited 0 but %s was not written", StackMarker)
	}
	a.setStackRun(marker)
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
	clone := "if [ -f " + SourceManifest + " ]; then rm -rf " + DevstackDir + " " + SourceManifest + "; fi; " +
		"if [ ! -d " + DevstackDir + "/.git ]; then mkdir -p " + StackHome + " && cd " + StackHome +
		" && git clone -q -b " + ssh.ShellQuote(branch) + " " + ssh.ShellQuote(repo) + " " + DevstackDir + " && echo cloned; fi"
	res, err := c.Run(ctx, clone)
	if err != nil {
		return fmt.Errorf("domU: git clone %s (branch %s): %w", redactURL(repo), branch, err)
	}
	if strings.TrimSpace(string(res.Stdout)) == "cloned" {
		out.Line("git clone %s (branch %s) into %s", redactURL(repo), branch, DevstackDir)
		// What git said besides (-q keeps a real clone quiet): the
		// simulator's stand-in says it cloned nothing.
		for _, l := range strings.Split(strings.TrimSpace(string(res.Stderr)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out.Line("git: %s", redactURL(l))
			}
		}
	}
	return nil
}

// redactURL drops a password from a repository URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// Destroy runs devstack's unstack.sh in domU, so what the agents made on
// both switches goes (the stand-in's, and dom0's through netwrap), and
// removes the marker. domU itself goes with the domU step.
func (a *agents) Destroy(ctx context.Context, out provision.Output) error {
	defer a.hangUp()
	inv, err := a.host.Inventory(ctx)
	if err != nil {
		return err
	}
	addr := a.domUAddr(inv)
	if addr == "" {
		return nil // domU is gone or halted: nothing of stack.sh runs
	}
	c, err := a.dial(ctx, addr)
	if err != nil {
		return err
	}
	cmd := "if [ -x " + DevstackDir + "/unstack.sh ]; then cd " + DevstackDir + " && ./unstack.sh >/dev/null && echo unstacked; fi; rm -f " + StackMarker
	res, err := c.Run(ctx, cmd)
	if err != nil {
		return fmt.Errorf("domU: unstack.sh: %w: %s", err, secret.Scrub(strings.TrimSpace(string(res.Stderr)),
			a.host.Config.XAPIPassword))
	}
	if strings.TrimSpace(string(res.Stdout)) == "unstacked" {
		out.Line("unstack.sh ran in domU")
	}
	return nil
}
