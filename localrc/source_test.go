package localrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevstackSource: devstack.source is a local checkout, resolved against
// the lab file's directory; a missing directory, a file, a directory
// without stack.sh and a source written beside repo or branch are each
// refused with the file, the line and the field.
func TestDevstackSource(t *testing.T) {
	dir := t.TempDir()
	co := filepath.Join(dir, "devstack")
	if err := os.MkdirAll(co, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(co, "stack.sh"), []byte("#!/bin/bash\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	const head = "lab = \"devstack\"\nhost \"xs1\" {\n  xapi_url = \"https://192.168.1.10\"\n  xapi_password = \"x\"\n}\n"
	load := func(body string) (*Config, error) {
		return parse(filepath.Join(dir, "lab.hcl"), []byte(head+"devstack {\n"+body+"}\n"), testEnv(dir, nil))
	}

	cfg, err := load("  source = \"devstack\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Devstack.Source != co {
		t.Errorf("source = %q, want %q (relative to the lab file)", cfg.Devstack.Source, co)
	}
	cfg, err = load("  repo = \"https://example.org/devstack\"\n")
	if err != nil || cfg.Devstack.Source != "" {
		t.Errorf("without source: %q %v", cfg.Devstack.Source, err)
	}

	for _, tc := range []struct{ body, want string }{
		{"  source = \"nowhere\"\n", "lab.hcl:7:12: error: Invalid devstack.source; source \"" + filepath.Join(dir, "nowhere") + "\": no such file or directory"},
		{"  source = \"empty\"\n", "lab.hcl:7:12: error: Invalid devstack.source; source \"" + empty + "\" is not a devstack checkout: it has no stack.sh"},
		{"  source = \"lab.hcl\"\n", "is not a directory"},
		{"  repo = \"https://example.org/devstack\"\n  source = \"devstack\"\n", "lab.hcl:8:12: error: Invalid devstack.source; source and repo (line 7) exclude each other"},
		{"  source = \"devstack\"\n  branch = \"master\"\n", "lab.hcl:7:12: error: Invalid devstack.source; source and branch (line 8) exclude each other"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "lab.hcl"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := load(tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", strings.TrimSpace(tc.body), err, tc.want)
		}
	}
}
