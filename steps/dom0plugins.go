package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"xenlab/hosts"
	sshc "xenlab/hosts/ssh"
	"xenlab/provision"
	"xenlab/scripts"
)

// PluginDir is xapi's plugin directory in the dom0 of every XenServer
// xenlab supports (6.x to 8.x). devstack also tried /usr/lib/xcp/plugins and
// /usr/lib/xapi/plugins, the directories of XCP's xcp-xapi packages on
// Debian and Ubuntu, which xenlab does not support: without PluginDir the
// host is not a XenServer dom0 and the step says so.
const PluginDir = "/etc/xapi.d/plugins"

// pluginMode is the installed plugin's mode: xapi executes the file.
const pluginMode fs.FileMode = 0o755

// dom0Plugins installs xenlab's netwrap plugin (scripts/netwrap) as
// PluginDir/netwrap, the plugin dom0's Open vSwitch agent runs its commands
// through. A netwrap is xenlab's when it carries scripts.NetwrapMarker, in
// any version; one without it (neutron's, from an earlier devstack) is
// never replaced nor removed: Apply refuses and says how to move it away.
type dom0Plugins struct {
	host *hosts.Host
}

func (p *dom0Plugins) Name() string   { return "dom0-plugins" }
func (p *dom0Plugins) Deps() []string { return []string{"preflight"} }

// installed is what dom0 has at PluginDir/netwrap.
type installed struct {
	noDir   bool // PluginDir is missing
	absent  bool // no netwrap
	mode    fs.FileMode
	size    int64
	content []byte // at most readLimit bytes
}

// readLimit bounds what Check reads of a netwrap that is not ours.
const readLimit = 256 << 10

// pluginPath is where the plugin goes.
func pluginPath() string { return path.Join(PluginDir, "netwrap") }

// inspect reads the installed plugin's mode, size and content with one
// command over the host's SSH connection (one session, no SFTP).
func (p *dom0Plugins) inspect(ctx context.Context) (installed, error) {
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return installed{}, err
	}
	dir, file := sshc.ShellQuote(PluginDir), sshc.ShellQuote(pluginPath())
	// Exit 10: no plugin directory; 11: no plugin. Otherwise the first line
	// is "<octal mode> <size>", the rest the content.
	cmd := fmt.Sprintf("test -d %s || exit 10; test -e %s || exit 11; "+
		"stat -L -c '%%a %%s' %s && head -c %d %s", dir, file, file, readLimit, file)
	res, err := dom0.Run(ctx, cmd, sshc.Idempotent())
	var rerr *sshc.RunError
	switch {
	case errors.As(err, &rerr) && rerr.ExitStatus == 10:
		return installed{noDir: true, absent: true}, nil
	case errors.As(err, &rerr) && rerr.ExitStatus == 11:
		return installed{absent: true}, nil
	case err != nil:
		return installed{}, fmt.Errorf("reading %s: %w", pluginPath(), err)
	}
	head, content, ok := strings.Cut(string(res.Stdout), "\n")
	fields := strings.Fields(head)
	if !ok || len(fields) != 2 {
		return installed{}, fmt.Errorf("reading %s: unexpected stat output %q", pluginPath(), head)
	}
	mode, err1 := strconv.ParseUint(fields[0], 8, 32)
	size, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		return installed{}, fmt.Errorf("reading %s: unexpected stat output %q", pluginPath(), head)
	}
	return installed{mode: fs.FileMode(mode), size: size, content: []byte(content)}, nil
}

// current reports whether the installed file is exactly ours.
func (i installed) current() bool {
	return !i.absent && i.mode == pluginMode && i.size == int64(len(scripts.Netwrap)) &&
		string(i.content) == string(scripts.Netwrap)
}

// ours reports whether the installed file is a netwrap xenlab installed.
func (i installed) ours() bool {
	return !i.absent && scripts.IsXenlabNetwrap(i.content)
}

// describe says what dom0 has at PluginDir/netwrap, for verify.
func (i installed) describe() string {
	switch {
	case i.absent:
		return "no such file"
	case i.ours():
		return fmt.Sprintf("another version of xenlab's (sha256 %s, %d bytes, mode %04o)", i.sha256()[:12], i.size, i.mode)
	default:
		return fmt.Sprintf("a netwrap that is not xenlab's (sha256 %s, %d bytes)", i.sha256()[:12], i.size)
	}
}

func (i installed) sha256() string { return sum(i.content) }

// Check is done when PluginDir/netwrap has our content (so our checksum)
// and mode 0755. One SSH command, no xapi call.
func (p *dom0Plugins) Check(ctx context.Context) (bool, error) {
	st, err := p.inspect(ctx)
	if err != nil {
		return false, err
	}
	return st.current(), nil
}

// Apply installs the plugin atomically over SFTP (the upload skips an
// unchanged file and corrects its mode), unless dom0 has a netwrap that is
// not xenlab's.
func (p *dom0Plugins) Apply(ctx context.Context, out provision.Output) error {
	st, err := p.inspect(ctx)
	if err != nil {
		return err
	}
	switch {
	case st.noDir:
		return fmt.Errorf("dom0 has no %s, xapi's plugin directory on XenServer: is this a XenServer host?", PluginDir)
	case st.current():
		out.Line("%s is xenlab's netwrap, sha256 %s, mode %04o", pluginPath(), scripts.NetwrapSHA256()[:12], pluginMode)
		return nil
	case !st.absent && !st.ours():
		return fmt.Errorf("dom0 has a %s that xenlab did not install (sha256 %s, %d bytes, no xenlab marker), "+
			"e.g. neutron's from an earlier devstack; xenlab never replaces or removes it: move it away "+
			"(in dom0: mv %s /root/netwrap.saved) and run again", pluginPath(), st.sha256()[:12], st.size, pluginPath())
	}
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return err
	}
	res, err := dom0.UploadBytes(ctx, scripts.Netwrap, pluginPath(), pluginMode)
	if err != nil {
		return err
	}
	what := "installed"
	switch {
	case !st.absent && res.Skipped:
		what = "mode set to 0755 on"
	case !st.absent:
		what = "updated"
	}
	out.Line("%s %s: xenlab's netwrap, sha256 %s (%d bytes)", what, pluginPath(), res.SHA256[:12], len(scripts.Netwrap))
	return nil
}

// Destroy removes PluginDir/netwrap when it is xenlab's (any version), with
// the temporary files an interrupted upload may have left beside it; a
// netwrap that is not xenlab's stays.
func (p *dom0Plugins) Destroy(ctx context.Context, out provision.Output) error {
	st, err := p.inspect(ctx)
	if err != nil {
		return err
	}
	if st.absent {
		return nil
	}
	if !st.ours() {
		out.Line("left %s alone: not xenlab's (sha256 %s, no xenlab marker)", pluginPath(), st.sha256()[:12])
		return nil
	}
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return err
	}
	// The upload's temporary names are ".netwrap.xenlab-<hex>" (hosts/ssh).
	cmd := "rm -f -- " + sshc.ShellQuote(pluginPath()) + " " + sshc.ShellQuote(PluginDir) + "/.netwrap.xenlab-*"
	if _, err := dom0.Run(ctx, cmd, sshc.Idempotent()); err != nil {
		return fmt.Errorf("removing %s: %w", pluginPath(), err)
	}
	out.Line("removed %s (xenlab's netwrap)", pluginPath())
	return nil
}
