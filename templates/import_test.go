package templates

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/localrc"
)

// TestImportedShapesKeepMeaning: every real localrc shape of the import
// tests, imported, loaded with its credentials exported and rendered as
// domU's localrc, never puts a credential inside another value (each
// exported value is found in its own setting only; other settings refer to
// it with ${NAME}), and bash, with devstack's DEST set, expands $DEST in
// the pass-through settings, as docs/configuration.md says.
func TestImportedShapesKeepMeaning(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	files, err := filepath.Glob("../localrc/testdata/import/*.localrc")
	if err != nil || len(files) < 5 {
		t.Fatalf("want the import tests' localrc files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, warns, err := localrc.Import(path, src)
			if err != nil {
				t.Fatal(err)
			}
			_, list, _ := strings.Cut(warns[len(warns)-1], "export ")
			secrets := map[string]string{}
			for _, name := range strings.Split(list, ", ") {
				secrets[name] = "Zq-" + name + "-value"
				t.Setenv(name, secrets[name])
			}
			cfg, err := localrc.Parse(filepath.Join(t.TempDir(), "lab.hcl"), out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, s := range cfg.Devstack.Extra {
				for _, v := range append([]string{s.Value}, s.Array...) {
					if strings.Contains(v, "Zq-") && !(localrc.CredentialName(s.Name) && strings.HasPrefix(v, "Zq-") && strings.HasSuffix(v, "-value")) {
						t.Errorf("%s = %q: a credential inside another value", s.Name, v)
					}
				}
			}
			lrc, err := RenderLocalrc(Localrc{Lab: "lab", XAPIURL: cfg.Hosts[0].XAPIURL, XAPIUser: cfg.Hosts[0].XAPIUser,
				XAPIPassword: cfg.Hosts[0].XAPIPassword.Reveal(), Services: "q-svc", Plugin: "openvswitch",
				VLANRanges: "physnet1:1000:1024", PhysicalNetwork: "physnet1", FlatBridge: "xapi1",
				IntegrationBridge: "xapi2", StackUser: "stack", Extra: cfg.Devstack.Extra})
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "localrc")
			if err := os.WriteFile(f, lrc, 0o600); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range cfg.Devstack.Extra {
				if !s.IsArray {
					names = append(names, s.Name)
				}
			}
			script := `DEST=/opt/stack; source "$1" || exit 1; shift; for n; do printf '%s=%s\n' "$n" "${!n}"; done`
			got, err := exec.Command(bash, append([]string{"-c", script, "x", f}, names...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s\n%s", err, got, lrc)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(got)), "\n") {
				name, val, _ := strings.Cut(line, "=")
				if strings.Contains(val, "$") || strings.Contains(string(src), "$DEST") && strings.Contains(val, "DEST") {
					t.Errorf("%s: not expanded in domU: %q", name, val)
				}
				if strings.Contains(val, "Zq-") && !localrc.CredentialName(name) {
					// a reference expanded: the credential's own value, where the localrc had it
					if !strings.Contains(string(src), name) {
						t.Errorf("%s = %q", name, val)
					}
				}
			}
			if strings.Contains(string(src), "$DEST") || strings.Contains(string(src), "${DEST}") {
				if !strings.Contains(string(got), "=/opt/stack/") {
					t.Errorf("no setting expanded $DEST:\n%s", got)
				}
			}
		})
	}
}

// TestDomULocalrcSettingsListed: localrc.DomULocalrcSettings, which the
// importer counts as set in domU, are the settings the template writes.
func TestDomULocalrcSettingsListed(t *testing.T) {
	l := sampleLocalrc()
	l.Extra = nil
	lrc, err := RenderLocalrc(l)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(lrc), "\n") {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && name != "_XENLAB_XTRACE" {
			names = append(names, name)
		}
	}
	if strings.Join(names, " ") != strings.Join(localrc.DomULocalrcSettings, " ") {
		t.Errorf("the template sets %v; localrc.DomULocalrcSettings lists %v", names, localrc.DomULocalrcSettings)
	}
}
