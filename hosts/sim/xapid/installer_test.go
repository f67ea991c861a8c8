package xapid

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/templates"
)

// installerVM clones the seeded installer template into a halted VM that
// boots the installer with pvArgs and the given install-repository.
func installerVM(t *testing.T, s *Server, sess, pvArgs, repo string) (ref, uuid string) {
	t.Helper()
	tpl := one(t, mustCall(t, s, "VM.get_by_name_label", sess, UbuntuTemplateName))
	vm := mustCall(t, s, "VM.clone", sess, tpl, "installer").(string)
	if repo != "" {
		mustCall(t, s, "VM.add_to_other_config", sess, vm, "install-repository", repo)
	}
	mustCall(t, s, "VM.set_PV_args", sess, vm, pvArgs)
	mustCall(t, s, "VM.provision", sess, vm)
	mustCall(t, s, "VM.set_is_a_template", sess, vm, false)
	return vm, mustCall(t, s, "VM.get_uuid", sess, vm).(string)
}

func goodPreseed(t *testing.T) []byte {
	t.Helper()
	p, err := templates.RenderPreseed(templates.Preseed{Release: "precise", Arch: "amd64", Hostname: "h",
		Domain: "d", MirrorHost: "archive.ubuntu.com", MirrorDir: "/ubuntu"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInstallerRun: a good preseed halts the VM with its disk installed;
// a missing, broken or mismatched one leaves the installer waiting with
// the VM running and the reason recorded.
func TestInstallerRun(t *testing.T) {
	const repo = "http://archive.ubuntu.com/ubuntu"
	good := goodPreseed(t)
	cases := []struct {
		name, file, args, repo string
		data                   []byte
		want                   string // "" = installs and halts
	}{
		{"good", "p.cfg", "-- auto url=127.0.0.1/p.cfg", repo, good, ""},
		{"missing preseed", "p.cfg", "-- auto url=127.0.0.1/other.cfg", repo, good, "404 Not Found"},
		{"no auto", "p.cfg", "-- url=127.0.0.1/p.cfg", repo, good, "no \"auto\""},
		{"not http", "p.cfg", "-- auto url=127.0.0.1/p.cfg", "ftp://archive.ubuntu.com/ubuntu", good, "not an http:// URL"},
		{"other host", "p.cfg", "-- auto url=10.9.9.9/p.cfg", repo, good, "not this host"},
		{"broken preseed", "p.cfg", "-- auto url=http://127.0.0.1/p.cfg", repo,
			[]byte(strings.Replace(string(good), "d-i partman/confirm boolean true\n", "", 1)), "partman/confirm"},
		{"no root password", "p.cfg", "-- auto url=127.0.0.1/p.cfg", repo,
			[]byte(strings.Replace(string(good), "d-i passwd/root-password-crypted password !\n", "", 1)), "root's password"},
		{"proxy answered on the command line", "p.cfg", "-- auto url=127.0.0.1/p.cfg mirror/http/proxy=", repo,
			[]byte(strings.Replace(string(good), "d-i mirror/http/proxy string \n", "", 1)), ""},
		{"no proxy answer", "p.cfg", "-- auto url=127.0.0.1/p.cfg", repo,
			[]byte(strings.Replace(string(good), "d-i mirror/http/proxy string \n", "", 1)), "mirror/http/proxy"},
		{"reboots", "p.cfg", "-- auto url=127.0.0.1/p.cfg", repo,
			[]byte(strings.Replace(string(good), "d-i debian-installer/exit/poweroff boolean true\n", "", 1)), "does not halt"},
		{"mirror mismatch", "p.cfg", "-- auto url=127.0.0.1/p.cfg", "http://mirror.example/ubuntu", good, "but the installer came from install-repository"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, mh, sess := newTestServer(t, Options{InstallTime: 1})
			www := mh.Dom0Path(WebRoot)
			if err := os.MkdirAll(www, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(www, c.file), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			vm, uuid := installerVM(t, s, sess, c.args, c.repo)
			mustCall(t, s, "VM.start", sess, vm, false, false)
			if c.want == "" {
				waitFor(t, "the installer to halt the VM", func() bool {
					return mustCall(t, s, "VM.get_power_state", sess, vm) == "Halted"
				})
				if bl := mustCall(t, s, "VM.get_PV_bootloader", sess, vm); bl != "pygrub" {
					t.Errorf("bootloader after install %q, want pygrub", bl)
				}
				vbd := one(t, mustCall(t, s, "VM.get_VBDs", sess, vm))
				vdi := mustCall(t, s, "VBD.get_VDI", sess, vbd).(string)
				oc := mustCall(t, s, "VDI.get_other_config", sess, vdi).(map[string]string)
				if !strings.Contains(oc[InstalledKey], "precise") {
					t.Errorf("disk other_config %v lacks %s", oc, InstalledKey)
				}
				return
			}
			var why string
			waitFor(t, "the installer to stop", func() bool {
				var ok bool
				why, ok = s.InstallerStopped(uuid)
				return ok
			})
			if !strings.Contains(why, c.want) {
				t.Errorf("installer stopped with %q, want %q", why, c.want)
			}
			if st := mustCall(t, s, "VM.get_power_state", sess, vm); st != "Running" {
				t.Errorf("power state %v, want Running (the installer waits at its question)", st)
			}
		})
	}
}

// TestWebRootOverHTTP: xapi's HTTP server serves dom0's web root, and
// nothing outside it; POST on / stays XML-RPC and GET / stays 405.
func TestWebRootOverHTTP(t *testing.T) {
	s, mh, _ := newTestServer(t, Options{})
	www := mh.Dom0Path(WebRoot)
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "p.cfg"), []byte("d-i x/y string z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(www), "secret"), []byte("no"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(www, "link")); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/p.cfg"); code != 200 || body != "d-i x/y string z\n" {
		t.Errorf("GET /p.cfg = %d %q", code, body)
	}
	for _, p := range []string{"/../secret", "/link", "/missing.cfg"} {
		if code, body := get(p); code == http.StatusOK {
			t.Errorf("GET %s = %d %q, want refused", p, code, body)
		}
	}
	if code, _ := get("/"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", code)
	}
}
