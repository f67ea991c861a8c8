package localrc

import (
	"strings"
	"testing"
)

// TestStepFields covers the fields the lab's steps added: template_from
// (default "install", "existing", anything else refused at its line) and
// networks.reuse_existing.
func TestStepFields(t *testing.T) {
	t.Setenv("XENAPI_PASSWORD", "pw")
	cfg, err := Parse("lab.hcl", []byte(minimalLab))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DomU.TemplateFrom != TemplateInstall || cfg.Networks.ReuseExisting {
		t.Errorf("defaults: template_from %q, reuse_existing %v", cfg.DomU.TemplateFrom, cfg.Networks.ReuseExisting)
	}
	cfg, err = Parse("lab.hcl", []byte(minimalLab+"domu {\n template_from = \"existing\"\n}\nnetworks {\n reuse_existing = true\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DomU.TemplateFrom != TemplateExisting || !cfg.Networks.ReuseExisting {
		t.Errorf("set: template_from %q, reuse_existing %v", cfg.DomU.TemplateFrom, cfg.Networks.ReuseExisting)
	}
	_, err = Parse("lab.hcl", []byte(minimalLab+"domu {\n template_from = \"download\"\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "lab.hcl:8") || !strings.Contains(err.Error(), `template_from must be "install"`) {
		t.Errorf("template_from = \"download\": %v, want a refusal at lab.hcl:8", err)
	}
}
