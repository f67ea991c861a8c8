package localrc

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestImportInlineCredentials: a credential inside a pass-through value
// (--password=x in EXTRA_OPTS, mysql's -px, password=x, user:x@ in a URL,
// --admin-pass x) is not written to the lab file: it becomes a reference
// to a credential setting of domU's localrc (<SETTING>_PASSWORD =
// env(...)), reported by the setting's name, and the loaded setting is
// sensitive. A credential the file also sets is referred to by its own
// name.
func TestImportInlineCredentials(t *testing.T) {
	src := `MYSQL_PASSWORD=Zq1-db
EXTRA_OPTS=(--password=Zq2-extra "flat_injected=True" -pZq1-db)
NOVA_DB_URL="mysql://root:Zq3-url@127.0.0.1/nova?charset=utf8"
SETUP_ARGS="--admin-user admin --admin-pass Zq4-flag"
KEYSTONE_OPTS='password=Zq5-kv token_format=PKI "$HOME"'
DEVSTACK_REPO=https://bob:Zq6-repo@git.example.com/devstack
PLAIN=nothing-to-hide
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	text := string(out) + "\n" + strings.Join(warns, "\n")
	if leaks := regexp.MustCompile(`Zq[0-9]+`).FindAllString(text, -1); len(leaks) > 0 {
		t.Fatalf("secret values %q appear in the output:\n%s", leaks, text)
	}
	joined := strings.Join(warns, "\n")
	for _, name := range []string{"EXTRA_OPTS", "NOVA_DB_URL", "SETUP_ARGS", "KEYSTONE_OPTS", "DEVSTACK_REPO"} {
		if !regexp.MustCompile(`(?m)^localrc:\d+: ` + name + `: holds a credential`).MatchString(joined) {
			t.Errorf("no warning naming %s in\n%s", name, joined)
		}
	}
	vars := exportsOf(t, warns)
	for name := range vars {
		vars[name] = "v-" + name
	}
	cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, out)
	}
	got := map[string]Setting{}
	for _, s := range cfg.Devstack.Extra {
		got[s.Name] = s
	}
	want := map[string]string{
		"EXTRA_OPTS":    "--password=v-EXTRA_OPTS_PASSWORD|flat_injected=True|-pv-MYSQL_PASSWORD",
		"NOVA_DB_URL":   "mysql://root:v-NOVA_DB_URL_PASSWORD@127.0.0.1/nova?charset=utf8",
		"SETUP_ARGS":    "--admin-user admin --admin-pass v-SETUP_ARGS_PASSWORD",
		"KEYSTONE_OPTS": `password=v-KEYSTONE_OPTS_PASSWORD token_format=PKI \"\$HOME\"`,
		"PLAIN":         "nothing-to-hide",
	}
	for name, w := range want {
		s := got[name]
		v := expandRefs(s.Value, got)
		if s.IsArray {
			var el []string
			for _, e := range s.Array {
				el = append(el, expandRefs(e, got))
			}
			v = strings.Join(el, "|")
		}
		if v != w {
			t.Errorf("%s = %q, want %q", name, v, w)
		}
		if s.Sensitive != (name != "PLAIN") {
			t.Errorf("%s: Sensitive = %v", name, s.Sensitive)
		}
	}
	if cfg.Devstack.Repo != DefaultDevstackRepo {
		t.Errorf("devstack.repo = %q: a URL with a password is not translated", cfg.Devstack.Repo)
	}
}

// expandRefs expands ${NAME} in v as bash does in domU's localrc, with the
// values of the settings.
func expandRefs(v string, settings map[string]Setting) string {
	return regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).ReplaceAllStringFunc(v, func(ref string) string {
		return settings[ref[2:len(ref)-1]].Value
	})
}

// TestSecretSpans: the forms a credential takes inside a value, and text
// that only looks like one.
func TestSecretSpans(t *testing.T) {
	for in, want := range map[string]string{
		"--password=abc def":         "abc",
		"--os-password abc":          "abc",
		"mysql -uroot -pabc":         "abc",
		"a=1,admin_password=abc,b=2": "abc",
		"http://u:abc@h/":            "abc",
		"token_format=PKI":           "",
		"--password":                 "",
		"Q_USE_SECGROUP=False -v -q": "",
		"https://host/path?x=1":      "",
		"KEYSTONE_TOKEN: abc":        "abc",
		"--os-password='a b'":        "a b",
		`--password="a b" -v`:        "a b",
		"-p'a b'":                    "a b",
		"--auth-key k1":              "k1",
		"mysql://root:p@ss@h/db":     "p@ss",
	} {
		var got []string
		for _, sp := range secretSpans(in) {
			got = append(got, in[sp.start:sp.end])
		}
		if strings.Join(got, ",") != want {
			t.Errorf("secretSpans(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadPasswordSettingsAreSecrets: every setting devstack reads with
// read_password (SWIFT_HASH included) is a credential: imported with
// env(), its literal dropped, and sensitive when passed through.
func TestReadPasswordSettingsAreSecrets(t *testing.T) {
	var src strings.Builder
	for i, name := range readPasswordSettings {
		fmt.Fprintf(&src, "%s=Zq%d-value\n", name, i)
	}
	out, warns, err := Import("localrc", []byte(src.String()))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	text := string(out) + "\n" + strings.Join(warns, "\n")
	if leaks := regexp.MustCompile(`Zq[0-9]+`).FindAllString(text, -1); len(leaks) > 0 {
		t.Fatalf("secret values %q appear in the output:\n%s", leaks, text)
	}
	vars := exportsOf(t, warns)
	for _, name := range readPasswordSettings {
		if _, ok := vars[name]; !ok {
			t.Errorf("%s is not read from the environment: %v", name, vars)
		}
	}
	cfg, err := parse("lab.hcl", []byte(`lab = "x"
host "h" {
  xapi_url = "https://10.0.0.1"
  xapi_password = "p"
}
devstack {
  extra = { SWIFT_HASH = "66a3d6b56c1f479c" }
}
`), testEnv(t.TempDir(), nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Devstack.Extra[0]; !s.Sensitive || strings.Contains(s.String(), "66a3") {
		t.Errorf("SWIFT_HASH passed through is not sensitive: %v", s)
	}
}

// TestImportHostilePasswordsInValues: passwords with quotes, backslashes,
// spaces, 300 characters, or that are also a host name never reach the
// lab file or a warning, written as a credential option's value, quoted
// or not, or as plain text inside another value.
func TestImportHostilePasswordsInValues(t *testing.T) {
	long := "Zq300" + strings.Repeat("x", 295)
	src := `ADMIN_PASSWORD='Zq1 we"ird\pa ss'
LONG_PASSWORD=` + long + `
RABBIT_PASSWORD=Zq2xenserver
EXTRA_OPTS=("--os-password='Zq3 a b'" '--sql_password="Zq4 \ c"' "-p'Zq5 d'")
SWIFT_CONF="--auth-key Zq6-\\back"
MSG="connect with ` + long + ` now"
GREETING="admin is Zq1 we\"ird\\pa ss, rabbit Zq2xenserver"
URL="mysql://root:Zq7p@ss@127.0.0.1/nova"
RABBIT_HOST=rabbit.lab.local
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	text := string(out) + "\n" + strings.Join(warns, "\n")
	if leaks := regexp.MustCompile(`Zq[0-9]+|xxxxxxxxxx|we"ird|ss@127`).FindAllString(text, -1); len(leaks) > 0 {
		t.Fatalf("secret values %q appear in the output:\n%s", leaks, text)
	}
	vars := exportsOf(t, warns)
	vals := map[string]string{"ADMIN_PASSWORD": `Zq1 we"ird\pa ss`, "LONG_PASSWORD": long, "RABBIT_PASSWORD": "Zq2xenserver"}
	for name := range vars {
		if vals[name] == "" {
			vals[name] = "v-" + name
		}
	}
	cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), vals))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, out)
	}
	got := map[string]Setting{}
	for _, s := range cfg.Devstack.Extra {
		got[s.Name] = s
	}
	// With the variables exported and the references expanded as bash
	// does in domU's localrc, the values are what the localrc said.
	if s := got["URL"]; expandRefs(s.Value, got) != "mysql://root:v-URL_PASSWORD@127.0.0.1/nova" || !s.Sensitive {
		t.Errorf("URL = %q (sensitive %v)", s.Value, s.Sensitive)
	}
	// A password that is a word of its own is replaced by a reference; a
	// long one inside other text cannot be replaced without changing the
	// text: that setting is not translated, and a warning says so.
	if s := got["MSG"]; expandRefs(s.Value, got) != "connect with "+long+" now" {
		t.Errorf("MSG = %q", s.Value)
	}
	for _, name := range []string{"GREETING"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s, which holds a password inside its text, was translated", name)
		}
		if !strings.Contains(strings.Join(warns, "\n"), name+": not translated: its text holds the value of") {
			t.Errorf("no warning says %s was not translated:\n%s", name, strings.Join(warns, "\n"))
		}
	}
	var el []string
	for _, e := range got["EXTRA_OPTS"].Array {
		el = append(el, expandRefs(e, got))
	}
	if strings.Join(el, "|") != `--os-password='v-EXTRA_OPTS_PASSWORD'|--sql_password=\"v-EXTRA_OPTS_PASSWORD_2\"|-p'v-EXTRA_OPTS_PASSWORD_3'` {
		t.Errorf("EXTRA_OPTS = %q", el)
	}
	if got["RABBIT_HOST"].Value != "rabbit.lab.local" {
		t.Errorf("RABBIT_HOST = %q", got["RABBIT_HOST"].Value)
	}
}

// TestImportSecretsOnlyAsWholeValues: with the password "citrix" (as in the
// XenServer CI's files), the URLs that contain the word keep their text,
// and only whole values and words are replaced, by a reference to a
// credential setting of domU's localrc, never by an env() inside the text.
func TestImportSecretsOnlyAsWholeValues(t *testing.T) {
	src := `XENAPI_PASSWORD=citrix
ADMIN_PASSWORD=citrix
NOVA_REPO=https://github.com/citrix-openstack/nova.git
IMAGE_URLS="https://github.com/downloads/citrix-openstack/warehouse/cirros-0.3.0-x86_64-disk.vhd.tgz"
SWIFT_CMD="swift -U admin:admin -K citrix stat"
DB_URL=mysql://root:citrix@127.0.0.1/nova
OTHER=citrix
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `${env(`) {
		t.Errorf("an env() inside another value:\n%s", out)
	}
	cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), exportsOf(t, warns)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range cfg.Devstack.Extra {
		got[s.Name] = s.Value
	}
	for name, want := range map[string]string{
		"NOVA_REPO":  "https://github.com/citrix-openstack/nova.git",
		"IMAGE_URLS": "https://github.com/downloads/citrix-openstack/warehouse/cirros-0.3.0-x86_64-disk.vhd.tgz",
		"SWIFT_CMD":  "swift -U admin:admin -K ${XENAPI_PASSWORD} stat",
		"DB_URL":     "mysql://root:${XENAPI_PASSWORD}@127.0.0.1/nova",
		"OTHER":      "${XENAPI_PASSWORD}",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
}

// TestImportFlagsWhatDomUDoesNotSet: a reference to a variable devstack
// sets before it reads localrc ($DEST) is kept with a note; one to a
// variable nothing in domU sets (a CI script's) is flagged at its line.
func TestImportFlagsWhatDomUDoesNotSet(t *testing.T) {
	_, warns, err := Import("localrc", []byte("A=1\nLOGS=$DEST/logs\nBRANCH=ci-${GITHUB_USER}\n"))
	if err != nil {
		t.Fatal(err)
	}
	j := strings.Join(warns, "\n")
	if !strings.Contains(j, "localrc:2: LOGS: keeps ${DEST} for devstack to expand in domU") ||
		!strings.Contains(j, "localrc:3: BRANCH: refers to ${GITHUB_USER}, which nothing in domU sets") {
		t.Errorf("warnings:\n%s", j)
	}
}

// TestImportNamesAnotherEra: ML2 and devstack plugins get one warning at
// the first sign, naming each sign and what the lab runs instead.
func TestImportNamesAnotherEra(t *testing.T) {
	_, warns, err := Import("localrc", []byte("A=1\nenable_plugin os-xenapi https://github.com/openstack/os-xenapi.git\nQ_PLUGIN=ml2\nQ_ML2_TENANT_NETWORK_TYPE=vxlan\n"))
	if err != nil {
		t.Fatal(err)
	}
	j := strings.Join(warns, "\n")
	want := "localrc:2: written for a later devstack than the lab runs (enable_plugin os-xenapi at line 2, Q_PLUGIN=ml2 at line 3, Q_ML2_TENANT_NETWORK_TYPE at line 4): xenlab runs devstack havana-eol"
	if !strings.Contains(j, want) || strings.Count(j, "written for a later devstack") != 1 {
		t.Errorf("warnings lack %q once:\n%s", want, j)
	}
	if _, warns, _ := Import("localrc", []byte("A=1\nQ_PLUGIN=openvswitch\n")); strings.Contains(strings.Join(warns, "\n"), "later devstack") {
		t.Errorf("a Havana file was called another era's:\n%s", warns)
	}
}
