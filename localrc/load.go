package localrc

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Load reads, decodes and validates the lab file at path. Configuration
// errors come back as a *DiagError; an unreadable file as a wrapped
// os error.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lab file: %w", err)
	}
	return Parse(path, src)
}

// Parse decodes and validates a lab file held in memory. filename names it
// in diagnostics, and file() paths are relative to its directory.
func Parse(filename string, src []byte) (*Config, error) {
	return parse(filename, src, osEnv(fileDir(filename)))
}

func fileDir(filename string) string {
	dir := filepath.Dir(filename)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}

func parse(filename string, src []byte, env evalEnv) (*Config, error) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newDiagError(diags, p.Files())
	}
	raw := defaultFile()
	ctx := env.evalContext()
	diags = append(diags, gohcl.DecodeBody(f.Body, ctx, &raw)...)
	v := &validator{ctx: ctx, diags: diags, file: f, env: env}
	cfg := v.config(filename, &raw)
	if v.diags.HasErrors() {
		return nil, newDiagError(annotate(v.diags, f), p.Files())
	}
	return cfg, nil
}

func newDiagError(diags hcl.Diagnostics, files map[string]*hcl.File) *DiagError {
	d := append(hcl.Diagnostics(nil), diags...)
	sortDiags(d)
	return &DiagError{Diags: d, Files: files}
}
