package localrc

import (
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
	t.Setenv("XENAPI_PASSWORD", "x")
	for i, b := range blocks {
		cfg, err := Parse(filepath.Join(t.TempDir(), "lab.hcl"), b[1])
		if err != nil {
			t.Errorf("example %d does not load:\n%v", i+1, err)
			continue
		}
		// The full example claims its values are the defaults.
		if i == 1 && (cfg.DomU.Memory != 4*GiB || cfg.Quantum.VLANs != (VLANRange{1000, 1024}) || cfg.Devstack.Branch != DefaultDevstackBranch) {
			t.Errorf("example %d drifted from the defaults: %+v", i+1, cfg)
		}
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
