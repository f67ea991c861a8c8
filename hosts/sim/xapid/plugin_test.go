package xapid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPlugin = `#!/usr/bin/env python
import XenAPIPlugin

def echo(session, args):
    return args["x"]

def boom(session, args):
    raise ValueError("no way")

def refuse(session, args):
    raise XenAPIPlugin.Failure("CUSTOM_ERROR", ["a", "b"])

def pools(session, args):
    return str(len(session.xenapi.pool.get_all()))

if __name__ == "__main__":
    XenAPIPlugin.dispatch({"echo": echo, "boom": boom, "refuse": refuse, "pools": pools})
`

func installPlugin(t *testing.T, mh *MemHost, name, body string, mode os.FileMode) {
	t.Helper()
	dir := mh.Dom0Path(PluginDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func TestCallPlugin(t *testing.T) {
	pythonXenAPI(t)
	s, mh, sess := newTestServer(t, Options{})
	listen(t, s) // plugins reach xapi back through XenAPI.xapi_local()
	host := s.HostRef()
	args := map[string]any{"x": "hello <&> world"}
	wantErr(t, s, []string{ErrMissingPlugin, "echo"}, "host.call_plugin", sess, host, "echo", "echo", args)

	installPlugin(t, mh, "echo", testPlugin, 0o755)
	if got := mustCall(t, s, "host.call_plugin", sess, host, "echo", "echo", args); got != "hello <&> world" {
		t.Fatalf("echo: %q", got)
	}
	if got := mustCall(t, s, "host.call_plugin", sess, host, "echo", "pools", map[string]any{}); got != "1" {
		t.Fatalf("pools: %q", got)
	}
	wantErr(t, s, []string{ErrPluginFailure, "boom", "ValueError", "no way"}, "host.call_plugin", sess, host, "echo", "boom", args)
	wantErr(t, s, []string{"CUSTOM_ERROR", "a", "b"}, "host.call_plugin", sess, host, "echo", "refuse", args)
	wantErr(t, s, []string{ErrUnknownPluginFunction, "nope"}, "host.call_plugin", sess, host, "echo", "nope", args)

	installPlugin(t, mh, "noexec", testPlugin, 0o644)
	_, err := s.Call(t.Context(), "host.call_plugin", sess, host, "noexec", "echo", args)
	if ae, ok := err.(*APIError); !ok || ae.Code != ErrPluginFailure || ae.Params[0] != "non-zero exit" {
		t.Fatalf("non-executable plugin: %v", err)
	}
	installPlugin(t, mh, "shfail", "#!/bin/sh\necho partial; echo oops >&2; exit 3\n", 0o755)
	wantErr(t, s, []string{ErrPluginFailure, "non-zero exit", "partial\n", "oops\n"}, "host.call_plugin", sess, host, "shfail", "f", args)
	installPlugin(t, mh, "garbage", "#!/bin/sh\necho not xml\n", 0o755)
	_, err = s.Call(t.Context(), "host.call_plugin", sess, host, "garbage", "f", args)
	if ae, ok := err.(*APIError); !ok || ae.Code != ErrPluginFailure || ae.Params[0] != "failed to parse plugin output" {
		t.Fatalf("garbage output: %v", err)
	}
	// The plugin's argument is the XML-RPC call: a shell plugin can see it.
	installPlugin(t, mh, "argv", "#!/bin/sh\ncase \"$1\" in *'<methodName>fn</methodName>'*\""+sess+"\"*) r=ok;; *) r=bad;; esac\n"+
		"printf '<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>%s</value></member></struct></value></param></params></methodResponse>' $r\n", 0o755)
	if got := mustCall(t, s, "host.call_plugin", sess, host, "argv", "fn", args); !strings.HasPrefix(got.(string), "ok") {
		t.Fatalf("argv: %q", got)
	}
}
