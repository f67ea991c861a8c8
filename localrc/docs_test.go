package localrc

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const docsPath = "../docs/configuration.md"

// TestDocsExamplesParse keeps docs/configuration.md true: every hcl example
// in it must load.
func TestDocsExamplesParse(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Skipf("docs not present: %v", err)
	}
	blocks := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("want at least two hcl examples, found %d", len(blocks))
	}
	dir := t.TempDir()
	env := testEnv(dir, map[string]string{"XENAPI_PASSWORD": "x"})
	var minimal *Config
	for i, b := range blocks {
		cfg, err := parse(filepath.Join(dir, "lab.hcl"), b[1], env)
		if err != nil {
			t.Errorf("example %d does not load:\n%v", i+1, err)
			continue
		}
		if i == 0 {
			minimal = cfg
		}
		// The full example claims its values are the defaults.
		if i == 1 && (cfg.DomU.Memory != 4*GiB || cfg.Quantum.VLANs != (VLANRange{1000, 1024}) || cfg.Devstack.Branch != DefaultDevstackBranch) {
			t.Errorf("example %d drifted from the defaults: %+v", i+1, cfg)
		}
		// Every value it shows other than the host's ssh_key and
		// known_hosts and devstack.extra is the default: it loads to what
		// the smallest file loads to.
		if i == 1 && minimal != nil {
			got := *cfg
			got.Hosts = append([]Host(nil), cfg.Hosts...)
			got.Hosts[0].SSHKey, got.Hosts[0].KnownHosts = minimal.Hosts[0].SSHKey, minimal.Hosts[0].KnownHosts
			got.Devstack.Extra = minimal.Devstack.Extra
			if !reflect.DeepEqual(&got, minimal) {
				t.Errorf("example %d is not the defaults:\n got %+v\nwant %+v", i+1, &got, minimal)
			}
		}
	}
}

// TestDocsDefaults keeps the Default columns of the reference true: setting
// a field to the default its table states loads to the same Config as not
// setting it. defaults.go is the one source; this checks the docs against it.
func TestDocsDefaults(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Skipf("docs not present: %v", err)
	}
	// The block each reference table describes, as the text around a field
	// (%s) in a lab file; host fields go into the smallest file's host block.
	sections := map[string]string{
		"### `host \"<name>\"`":           "host",
		"### `networks`":                  "networks {\n%s\n}",
		"### `domu`":                      "domu {\n%s\n}",
		"#### `domu { devices { ... } }`": "domu {\ndevices {\n%s\n}\n}",
		"#### `domu { ubuntu { ... } }`":  "domu {\nubuntu {\n%s\n}\n}",
		"### `quantum`":                   "quantum {\n%s\n}",
		"#### `quantum { agent \"q-agt\"": "quantum {\nagent \"q-domua\" {\n%s\n}\n}", // the q-domua column
		"### `devstack`":                  "devstack {\n%s\n}",
		"### `timeouts`":                  "timeouts {\n%s\n}",
	}
	const host = "lab = \"devstack\"\nhost \"xs1\" {\n  xapi_url = \"https://192.168.1.10\"\n  xapi_password = \"x\"\n%s\n}\n"
	dir := t.TempDir()
	env := testEnv(dir, nil)
	load := func(src string) (*Config, error) { return parse(filepath.Join(dir, "lab.hcl"), []byte(src), env) }
	want, err := load(fmt.Sprintf(host, ""))
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile("^`([^`]+)`$")
	block, checked := "", 0
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			block = ""
			for prefix, b := range sections {
				if strings.HasPrefix(line, prefix) {
					block = b
				}
			}
			continue
		}
		cells := strings.Split(line, " | ")
		if block == "" || !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		field, def := strings.Trim(strings.TrimPrefix(cells[0], "| "), "`"), literal.FindStringSubmatch(cells[2])
		if def == nil {
			continue // required, or a default that is not a value ("host of `xapi_url`")
		}
		attr := field + " = " + def[1]
		src := fmt.Sprintf(host, "")
		if block == "host" {
			src = fmt.Sprintf(host, attr)
		} else {
			src += fmt.Sprintf(block, attr) + "\n"
		}
		got, err := load(src)
		if err != nil {
			t.Errorf("%s: the documented default does not load: %v", attr, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s is documented as the default but is not:\n%s", attr, src)
		}
		checked++
	}
	if checked < 45 {
		t.Errorf("checked %d documented defaults; the tables were not read", checked)
	}
}

// TestDocsNameEveryField: every attribute and block of the schema appears in
// the reference as `name`.
func TestDocsNameEveryField(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Skipf("docs not present: %v", err)
	}
	for _, v := range []any{fileSchema{}, hostBlock{}, networksBlock{}, domuBlock{}, devicesBlock{}, ubuntuBlock{}, quantumBlock{}, agentBlock{}, devstackBlock{}, timeoutsBlock{}} {
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			tag := ty.Field(i).Tag.Get("hcl")
			name, kind, _ := strings.Cut(tag, ",")
			if name == "" || strings.Contains(kind, "range") || kind == "label" {
				continue
			}
			d := string(doc)
			if !strings.Contains(d, "`"+name+"`") && !(kind == "block" && (strings.Contains(d, name+" {") || strings.Contains(d, name+` "`))) {
				t.Errorf("docs/configuration.md does not describe %s (%s)", name, ty.Name())
			}
		}
	}
}
