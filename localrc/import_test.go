package localrc

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"xenlab/internal/race"
)

// TestImportGolden converts every testdata/import/*.localrc and compares the
// lab file and the warnings with their goldens; the lab file must Parse.
func TestImportGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/import/*.localrc")
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least three localrc files: %v", err)
	}
	for _, path := range files {
		base := strings.TrimSuffix(path, ".localrc")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, warns, err := Import(path, src)
			if err != nil {
				t.Fatalf("Import: %v\n%s", err, out)
			}
			golden(t, base+".hcl", out)
			golden(t, base+".warnings", []byte(strings.Join(warns, "\n")+"\n"))
			env := testEnv(t.TempDir(), exportsOf(t, warns))
			if _, err := parse(base+".hcl", out, env); err != nil {
				t.Fatalf("imported lab file does not parse:\n%v", err)
			}
		})
	}
}

func importParse(t *testing.T, src string) (*Config, []string) {
	t.Helper()
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	vars := exportsOf(t, warns)
	for name := range vars {
		vars[name] = strings.ToLower(strings.ReplaceAll(name, "_PASSWORD", "-pw"))
	}
	env := testEnv(t.TempDir(), vars)
	cfg, err := parse("lab.hcl", out, env)
	if err != nil {
		t.Fatalf("imported file does not parse: %v\n%s", err, out)
	}
	return cfg, warns
}

// exportsOf reads the variables Import's final warning says to export, each
// set to "set": given only those, the imported file must parse.
func exportsOf(t *testing.T, warns []string) map[string]string {
	t.Helper()
	const marker = ": before `xenlab validate`: export "
	if len(warns) == 0 {
		t.Fatalf("no warnings: want a final one naming the variables to export")
	}
	_, list, ok := strings.Cut(warns[len(warns)-1], marker)
	if !ok {
		t.Fatalf("the last warning does not name the variables to export: %q", warns[len(warns)-1])
	}
	vars := map[string]string{}
	for _, name := range strings.Split(list, ", ") {
		vars[name] = "set"
	}
	for _, w := range warns[:len(warns)-1] {
		if strings.Contains(w, marker) {
			t.Errorf("the export summary is given twice: %q", w)
		}
	}
	return vars
}

// TestImportMapping checks the meaning of the translation, not its text.
func TestImportMapping(t *testing.T) {
	cfg, warns := importParse(t, `
XENAPI_CONNECTION_URL=https://10.0.0.5
XENAPI_PASSWORD=hunter2
OSDOMU_MEM_MB=3072
OSDOMU_VDI_GB=4
VM_IP=10.1.2.3
VM_NETMASK=255.255.0.0
OVS_VLAN_RANGES=physnet7:100:200
ENABLED_SERVICES+=,q-agt,q-domua,-n-net
disable_service tempest
EXTRA_OPTS=(a=1 'b c')
NAME=world
GREETING="hello ${NAME}, ${UNSET:-fallback} $NOWHERE"
`)
	h := cfg.Hosts[0]
	if h.XAPIURL != "https://10.0.0.5" || h.XAPIPassword.Reveal() != "xenapi-pw" {
		t.Errorf("host = %+v (password %q)", h, h.XAPIPassword.Reveal())
	}
	if cfg.DomU.Memory != 3*GiB || cfg.DomU.Disk != MinDisk {
		t.Errorf("memory %v disk %v", cfg.DomU.Memory, cfg.DomU.Disk)
	}
	if cfg.DomU.VMIP.String() != "10.1.2.3/16" {
		t.Errorf("vm ip %v", cfg.DomU.VMIP)
	}
	if cfg.Quantum.NetworkVLANRanges() != "physnet7:100:200" {
		t.Errorf("vlan ranges %q", cfg.Quantum.NetworkVLANRanges())
	}
	// disable_service removes tempest from the list (devstack's
	// functions), so the result is a list of its own, negations applied.
	wantBase := "g-api,g-reg,key,n-api,n-crt,n-obj,n-cpu,n-cond,cinder,c-sch,c-api,c-vol,n-sch,n-novnc,n-xvnc,n-cauth,horizon,rabbit,mysql,q-agt,q-domua"
	if got := strings.Join(cfg.Devstack.EnabledServices, ","); got != "" || cfg.Devstack.BaseServices == nil || strings.Join(cfg.Devstack.BaseServices, ",") != wantBase {
		t.Errorf("services %q base %v", got, cfg.Devstack.BaseServices)
	}
	extra := map[string]Setting{}
	for _, s := range cfg.Devstack.Extra {
		extra[s.Name] = s
	}
	if s := extra["EXTRA_OPTS"]; !s.IsArray || strings.Join(s.Array, "|") != "a=1|b c" {
		t.Errorf("EXTRA_OPTS = %+v", s)
	}
	if s := extra["GREETING"]; s.Value != "hello world, fallback ${NOWHERE}" {
		t.Errorf("GREETING = %q", s.Value)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{"XENAPI_PASSWORD: literal password dropped", "OSDOMU_VDI_GB: 4 GiB is below", "GREETING: refers to ${NOWHERE}, which nothing in domU sets"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "hunter2") {
		t.Errorf("a warning leaks the password:\n%s", joined)
	}
}

func TestImportShellForms(t *testing.T) {
	cases := []struct {
		name, src, key, want string
	}{
		{"single quotes keep $", `A='$x "y"'`, "A", `\$x \"y\"`},
		{"double quotes expand", "B=1\nA=\"<$B>\"", "A", "<1>"},
		{"escapes", `A=a\ b\$c`, "A", `a b\$c`},
		{"default when unset", `A=${Z:-"def ault"}`, "A", "def ault"},
		{"no default when set", "Z=z\nA=${Z:-d}", "A", "z"},
		{"colon-less default keeps empty", "Z=\nA=${Z-d}", "A", ""},
		{"alternative", "Z=z\nA=${Z:+alt}", "A", "alt"},
		{"assign default", "A=${Z:=zz}\nB=$Z", "B", "zz"},
		{"append", "A=x\nA+=y", "A", "xy"},
		{"append to unset keeps the reference", "A+=y", "A", "${A}y"},
		{"continuation", "A=one\\\ntwo", "A", "onetwo"},
		{"comment after value", "A=v # c", "A", "v"},
		{"hash inside word", "A=v#c", "A", "v#c"},
		{"export", "export A=v", "A", "v"},
		{"declare with flags", "declare -x A=v", "A", "v"},
		{"export of a name alone is silent", "A=v\nexport A", "A", "v"},
		{"two on a line", "A=1 B=2", "B", "2"},
		{"semicolons", "A=1; B=$A$A", "B", "11"},
		// ${NAME:-word} quotes as its context does (checked against bash 5.2):
		// unquoted, a backslash escapes anything and single quotes quote;
		// inside "...", double-quote rules apply to the word as well.
		{"unquoted default: backslash escapes", `A=${Z:-a\}b\q}`, "A", "a}bq"},
		{"unquoted default: single quotes", `A=${Z:-'a b'}`, "A", "a b"},
		{"unquoted default: continuation", "A=${Z:-a\\\nb}", "A", "ab"},
		{"quoted default: single quotes are literal", `A="${Z:-'a b'}"`, "A", "'a b'"},
		{"quoted default: backslash kept before q", `A="${Z:-\q\}\"}"`, "A", `\\q}\"`},
		{"quoted default: nested double quotes", `A="${Z:-"a b"}"`, "A", "a b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _ := importParse(t, c.src)
			for _, s := range cfg.Devstack.Extra {
				if s.Name == c.key {
					if s.Value != c.want {
						t.Errorf("%s = %q, want %q", c.key, s.Value, c.want)
					}
					return
				}
			}
			t.Errorf("%s not in extra: %+v", c.key, cfg.Devstack.Extra)
		})
	}
}

func TestImportWarnsAndSkips(t *testing.T) {
	cases := []struct{ src, warn, absent string }{
		{"A=$(hostname)", "A uses $(hostname)", "A"},
		{"A=`hostname`", "A uses `hostname`", "A"},
		{"if true; then\nA=1\nfi", `block not translated`, "A"},
		{"[[ -f x ]] && A=1", `shell operator "&&"`, "A"},
		{"A=1 make", "temporary variables", "A"},
		{"source other", "source of another file not followed", ""},
		{"A=${B#x}", "A uses ${B#x}", "A"},
		{"OSDOMU_MEM_MB=lots", `"lots" is not a whole number`, ""},
		{"OVS_VLAN_RANGES=physnet1", "not physnet:min:max", ""},
		{"OVS_VLAN_RANGES=physnet1:0:5000", "within 1-4094", ""},
		{"Q_PLUGIN=linuxbridge", "openvswitch plugin only", ""},
		{"DO_SHUTDOWN=0", "dropped", "DO_SHUTDOWN"},
	}
	for _, c := range cases {
		cfg, warns := importParse(t, c.src)
		if !strings.Contains(strings.Join(warns, "\n"), c.warn) {
			t.Errorf("%q: warnings %q lack %q", c.src, warns, c.warn)
		}
		for _, s := range cfg.Devstack.Extra {
			if c.absent != "" && s.Name == c.absent {
				t.Errorf("%q: %s passed through although it was not translatable", c.src, s.Name)
			}
		}
	}
}

func TestImportRejectsBinary(t *testing.T) {
	for _, src := range []string{"A=\x00", "A=\xff\xfe"} {
		if _, _, err := Import("x", []byte(src)); err == nil {
			t.Errorf("%q: want an error", src)
		}
	}
	if _, _, err := Import("x", []byte("A=1")); err != nil {
		t.Errorf("plain input failed: %v", err)
	}
}

// TestImportBoundsGrowth: A=$A$A doubles; without a bound 40 lines would
// need a terabyte. B+=... ten thousand times copies B each time, in time
// quadratic in the file's length: the import stops with an error naming
// the line where the work passed maxWork.
func TestImportBoundsGrowth(t *testing.T) {
	src := "A=xxxxxxxx\n" + strings.Repeat("A=$A$A\n", 40)
	_, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "longer than 64 KiB") {
		t.Errorf("no warning about the bound: %d warnings", len(warns))
	}
	_, _, err = Import("localrc", []byte(src+strings.Repeat("B+=yyyyyyyyyyyyyyyy\n", 10000)))
	if err == nil || !regexp.MustCompile(`^import localrc:[0-9]+: stopped here: .* more than 16 MiB`).MatchString(err.Error()) {
		t.Errorf("10,000 appends: %v; want the error of maxWork at a line", err)
	}
}

func TestImportBoundsTotal(t *testing.T) {
	if race.Enabled {
		t.Skip("one goroutine parsing a mebibyte, nothing for the race detector to see, and ten times slower under it: the run without -race checks it (.ci/run makes both)")
	}
	src := "A=xxxxxxxxxxxxxxxx\n" + strings.Repeat("A=$A$A\n", 12) + manyCopies(40)
	_, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "exceed 1 MiB in total") {
		t.Errorf("no warning about the total bound")
	}
}

func manyCopies(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("B" + strconv.Itoa(i) + "=$A\n")
	}
	return b.String()
}

// TestImportWarningsKeepSecrets: no warning repeats a credential's value.
func TestImportWarningsKeepSecrets(t *testing.T) {
	src := `XENAPI_PASSWORD=hunter2
GUEST_PASSWORD="$(echo hunter2)"
[[ -n x ]] && ADMIN_PASSWORD=hunter2
if true; then
  SERVICE_PASSWORD=hunter2
fi
RABBIT_PASSWORD=hunter2 make
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	if strings.Contains(joined, "hunter2") || strings.Contains(string(out), "hunter2") {
		t.Errorf("secret leaked:\n%s\n%s", joined, out)
	}
	if !strings.Contains(string(out), `password = env("GUEST_PASSWORD")`) {
		t.Errorf("a computed GUEST_PASSWORD should still be read from the environment:\n%s", out)
	}
	if len(warns) < 5 {
		t.Errorf("want a warning per untranslated line, got %q", warns)
	}
}

func TestImportUnterminatedQuote(t *testing.T) {
	_, warns, err := Import("localrc", []byte("A=1\nB='abc\nC=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "localrc:2: unterminated single quote") {
		t.Errorf("warnings = %q", warns)
	}
}

func TestImportLocalConf(t *testing.T) {
	src := "[[local|localrc]]\nADMIN_PASSWORD=x\nQ_USE_SECGROUP=False\n\n[[post-config|$NOVA_CONF]]\n[DEFAULT]\nforce_config_drive = True\n[[local|localrc]]\nMULTI_HOST=1\n"
	cfg, warns := importParse(t, src)
	names := map[string]bool{}
	for _, s := range cfg.Devstack.Extra {
		names[s.Name] = true
	}
	if !names["Q_USE_SECGROUP"] || !names["MULTI_HOST"] || len(names) != 3 {
		t.Errorf("extra = %+v", cfg.Devstack.Extra)
	}
	if len(warns) != 5 || !strings.Contains(warns[3], "localrc:5: local.conf section [[post-config|$NOVA_CONF]]") {
		t.Errorf("warnings = %q", warns)
	}
}
