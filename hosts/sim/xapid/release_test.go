package xapid

import (
	"path/filepath"
	"strings"
	"testing"
)

// pythonProbePlugin answers with the major version of the Python that runs
// it, in Python 2 syntax that Python 3 rejects unless it is 2-compatible:
// this one is valid in both.
const pythonProbePlugin = `#!/usr/bin/env python
import sys
import XenAPIPlugin

def major(session, args):
    return str(sys.version_info[0])

def host_version(session, args):
    host = session.xenapi.session.get_this_host(session.handle)
    sv = session.xenapi.host.get_software_version(host)
    api = "%s.%s" % (session.xenapi.host.get_API_version_major(host),
                     session.xenapi.host.get_API_version_minor(host))
    return sv["product_version"] + " " + api

if __name__ == "__main__":
    XenAPIPlugin.dispatch({"major": major, "host_version": host_version})
`

// needPython2 skips a test when this machine has no Python 2 to pose as
// the dom0 Python of XenServer 6.x and 7.x.
func needPython2(t *testing.T) string {
	t.Helper()
	p, err := Python2()
	if err != nil {
		t.Skipf("XenServer 6.x/7.x plugins need Python 2 and %v", err)
	}
	return p
}

func TestReleasesReportTheirVersion(t *testing.T) {
	for _, want := range []struct {
		name, product string
		minor         int64
		python        string
	}{{"6.2", "6.2.0", 0, "2"}, {"7.1", "7.1.0", 6, "2"}, {"8.2", "8.2.0", 16, "2"}} {
		t.Run(want.name, func(t *testing.T) {
			if want.python == "2" {
				needPython2(t)
			}
			pythonXenAPI(t)
			s, mh, sess := newTestServer(t, Options{Seed: Seed{Version: want.name}})
			listen(t, s)
			host := s.HostRef()
			sv := mustCall(t, s, "host.get_software_version", sess, host).(map[string]string)
			if sv["product_version"] != want.product || sv["network_backend"] != "openvswitch" || sv["hostname"] == "" {
				t.Fatalf("software_version %v", sv)
			}
			if v := mustCall(t, s, "host.get_API_version_minor", sess, host); v != want.minor {
				t.Fatalf("API minor %v, want %d", v, want.minor)
			}
			installPlugin(t, mh, "probe", pythonProbePlugin, 0o755)
			if got := mustCall(t, s, "host.call_plugin", sess, host, "probe", "major", map[string]any{}); got != want.python {
				t.Fatalf("plugin ran under Python %v, want %s", got, want.python)
			}
			wantHV := want.product + " 2." + map[int64]string{0: "0", 6: "6", 16: "16"}[want.minor]
			if got := mustCall(t, s, "host.call_plugin", sess, host, "probe", "host_version", map[string]any{}); got != wantHV {
				t.Fatalf("plugin's own session saw %v, want %s", got, wantHV)
			}
		})
	}
}

func TestUnknownReleaseRefused(t *testing.T) {
	_, err := New(Options{Password: "x", Host: NewMemHost(t.TempDir()), Seed: Seed{Version: "6.5"}})
	if err == nil || !strings.Contains(err.Error(), `"6.5"`) || !strings.Contains(err.Error(), "6.2, 7.1, 8.2") {
		t.Fatalf("New with version 6.5: %v", err)
	}
}

// A host restarted as another release reports the new one, as after an
// upgrade that keeps the database.
func TestReleaseAppliedToLoadedState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "db.json")
	mh := NewMemHost(t.TempDir())
	s, _, _ := newTestServer(t, Options{Host: mh, StateFile: state, Seed: Seed{Version: "6.2"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, _, sess := newTestServer(t, Options{Host: mh, StateFile: state, Seed: Seed{Version: "7.1"}})
	sv := mustCall(t, s2, "host.get_software_version", sess, s2.HostRef()).(map[string]string)
	if sv["product_version"] != "7.1.0" || mustCall(t, s2, "host.get_API_version_minor", sess, s2.HostRef()) != int64(6) {
		t.Fatalf("after restart as 7.1: %v", sv)
	}
}
