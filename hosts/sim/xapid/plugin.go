package xapid

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"xenlab/hosts/xapi/xmlrpc"
)

// PluginDir is where xapi looks for plugins in dom0.
const PluginDir = "/etc/xapi.d/plugins"

//go:embed pyhelpers/*.py
var pyHelpers embed.FS

func init() {
	register("host.call_plugin", handler{arity: 5, fn: (*call).callPlugin})
}

// writePluginHelpers writes XenAPIPlugin.py and XenAPI.py to a private
// directory that plugins get on PYTHONPATH, as real dom0 has them:
// Options.PluginHelpersDir (made anew: a killed server may have left it),
// else a new one in the system's temporary directory.
func (s *Server) writePluginHelpers() error {
	dir := s.opts.PluginHelpersDir
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "xapid-python-")
	} else if err = os.RemoveAll(dir); err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("plugin helpers: %w", err)
	}
	for _, name := range []string{"XenAPIPlugin.py", "XenAPI.py"} {
		data, err := pyHelpers.ReadFile("pyhelpers/" + name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("plugin helpers: writing %s: %w", name, err)
		}
	}
	s.pluginDir = dir
	return nil
}

func (s *Server) removePluginHelpers() {
	if s.pluginDir != "" {
		os.RemoveAll(s.pluginDir)
	}
}

// SetURL tells the server the URL clients reach it on, for the XenAPI
// sessions of plugins. Listen sets it; call it when serving otherwise.
func (s *Server) SetURL(url string) {
	s.urlMu.Lock()
	defer s.urlMu.Unlock()
	s.url = url
}

// callPlugin is host.call_plugin(host, plugin, fn, args): the plugin must
// be a file in dom0's /etc/xapi.d/plugins (XENAPI_MISSING_PLUGIN [name]).
// It runs with the XML-RPC call fn(session, args) as its one argument and
// answers with an XML-RPC response, whose string value is the result.
func (c *call) callPlugin(a args) any {
	host := a.str(0, "host")
	plugin, fn := a.str(1, "plugin"), a.str(2, "fn")
	pargs := a.strMap(3, "args")
	c.s.withDB(func() { c.obj("host", host) })

	dir := c.s.host.Dom0Path(PluginDir)
	entries, _ := os.ReadDir(dir)
	found := false
	for _, e := range entries {
		found = found || e.Name() == plugin
	}
	if !found {
		fail(ErrMissingPlugin, plugin)
	}
	file := filepath.Join(dir, plugin)
	params := map[string]any{}
	for k, v := range pargs {
		params[k] = v
	}
	callXML, err := xmlrpc.MarshalCall(fn, []any{c.session, params})
	if err != nil {
		fail(ErrInternalError, "encoding plugin call: "+err.Error())
	}
	stdout, stderr, err := c.s.runPlugin(c.ctx, file, string(callXML))
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fail(ErrPluginFailure, "signal: "+ws.Signal().String(), stdout, stderr)
		}
		fail(ErrPluginFailure, "non-zero exit", stdout, stderr)
	case err != nil:
		fail(ErrPluginFailure, "non-zero exit", stdout, err.Error())
	}
	c.s.logf("xapid: plugin %s.%s ran", plugin, fn)
	return parsePluginOutput(stdout)
}

// runPlugin executes a plugin file as dom0 would. A script whose first line
// names python runs under dom0's python, one naming python3 under python3:
// with a Dom0Runner, those dom0 finds on its PATH, in dom0's confinement;
// otherwise Options.Python and Python3() on this machine.
func (s *Server) runPlugin(ctx context.Context, file, arg string) (string, string, error) {
	st, err := os.Stat(file)
	if err != nil {
		return "", "", fmt.Errorf("plugin %s: %w", path.Base(file), err)
	}
	if st.Mode()&0o111 == 0 || !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("plugin %s: permission denied (not an executable file)", path.Base(file))
	}
	interp := ""
	if f, err := os.Open(file); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if strings.HasPrefix(line, "#!") && strings.Contains(line, "python") {
			interp = "python"
			if strings.Contains(line, "python3") {
				interp = "python3"
			}
		}
	}
	s.urlMu.Lock()
	url := s.url
	s.urlMu.Unlock()
	extra := []string{"XENLAB_SIM_XAPI_URL=" + url}
	var cmd *exec.Cmd
	if r, ok := s.host.(Dom0Runner); ok {
		// As dom0 runs it: a python plugin under dom0's own python (on
		// its PATH), with the helpers' directory reachable.
		inDom0 := path.Join(PluginDir, path.Base(file))
		argv := []string{inDom0, arg}
		if interp != "" {
			argv = []string{"/usr/bin/env", interp, inDom0, arg}
		}
		var err error
		cmd, err = r.Dom0Command(ctx, argv, append(extra, "PYTHONPATH="+s.pluginDir), []string{s.pluginDir})
		if err != nil {
			return "", "", err
		}
	} else {
		argv := []string{file, arg}
		switch interp {
		case "python":
			argv = []string{s.python, file, arg}
		case "python3":
			argv = []string{Python3(), file, arg}
		}
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		env := append([]string{}, s.host.Dom0Env()...)
		pp := s.pluginDir
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok && v != "" {
				pp += ":" + v
			}
		}
		cmd.Env = append(append(env, "PYTHONPATH="+pp), extra...)
		if root := s.host.Dom0Path("/"); dirExists(root) {
			cmd.Dir = root
		}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := cmd.Start
	if st, ok := s.host.(Dom0Starter); ok {
		start = func() error { return st.Dom0Start(cmd) }
	}
	if err = start(); err == nil {
		err = cmd.Wait()
	}
	return out.String(), errb.String(), err
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// parsePluginOutput reads a plugin's XML-RPC response as xapi does.
func parsePluginOutput(out string) string {
	v, err := xmlrpc.UnmarshalResponse([]byte(out))
	var fault *xmlrpc.Fault
	if errors.As(err, &fault) {
		fail(ErrPluginFailure, "fault", strconv.Itoa(fault.Code), fault.Message)
	}
	if err != nil {
		fail(ErrPluginFailure, "failed to parse plugin output", out, err.Error())
	}
	res, ok := v.(map[string]any)
	if !ok {
		// A bare value: xapi takes a string as the result.
		if s, ok := v.(string); ok {
			return s
		}
		fail(ErrPluginFailure, "unexpected XMLRPC result", out)
	}
	switch res["Status"] {
	case "Success":
		if s, ok := res["Value"].(string); ok {
			return s
		}
	case "Failure":
		if desc, ok := res["ErrorDescription"].([]any); ok && len(desc) > 0 {
			strs := make([]string, len(desc))
			for i, d := range desc {
				strs[i] = fmt.Sprint(d)
			}
			fail(strs[0], strs[1:]...)
		}
	}
	fail(ErrPluginFailure, "unexpected XMLRPC result", out)
	return ""
}
