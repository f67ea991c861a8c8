package localrc

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Load reads, decodes and validates the lab file at path. Configuration
// errors come back as a *DiagError, and so does a lab file that cannot be
// read at all: one that is not a regular file, is over MaxLabFileSize, or
// whose path cannot be opened (a symlink loop, no permission), so every
// lab-file error is the same kind of error (exit 2). A missing file is a
// wrapped fs.ErrNotExist.
func Load(path string) (*Config, error) {
	src, err := readRegular(path, MaxLabFileSize)
	var nr *notRegularError
	var tl *tooLargeError
	var pe *fs.PathError
	switch {
	case errors.As(err, &nr) || errors.As(err, &tl):
		return nil, fileDiag(path, "Unreadable lab file", fmt.Sprintf("%s cannot be a lab file: %v", path, err))
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read lab file: %w", err) // the caller says how to make one
	case errors.As(err, &pe):
		return nil, fileDiag(path, "Unreadable lab file", fmt.Sprintf("%s cannot be read: %v", path, pe.Err))
	case err != nil:
		return nil, fileDiag(path, "Unreadable lab file", fmt.Sprintf("%s cannot be read: %v", path, err))
	}
	return Parse(path, src)
}

// fileDiag is a DiagError about a whole file, placed at its start.
func fileDiag(filename, summary, detail string) *DiagError {
	r := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
	return &DiagError{Diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}}}
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
	env.reads = &fileReads{}
	if diags := prescan(filename, src); diags.HasErrors() {
		return nil, &DiagError{Diags: diags}
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newDiagError(hideSecretQuotes(diags, src, filename), p.Files())
	}
	raw := defaultFile()
	ctx := env.evalContext()
	diags = append(diags, gohcl.DecodeBody(f.Body, ctx, &raw)...)
	v := &validator{ctx: ctx, diags: diags, file: f, env: env}
	cfg := v.config(filename, &raw)
	v.diags = append(v.diags, checkSecrets(f, ctx)...)
	if v.diags.HasErrors() {
		return nil, newDiagError(hideSecretQuotes(hideFileContents(annotate(v.diags, f), env.reads), src, filename), p.Files())
	}
	return cfg, nil
}

func newDiagError(diags hcl.Diagnostics, files map[string]*hcl.File) *DiagError {
	d := append(hcl.Diagnostics(nil), diags...)
	sortDiags(d)
	return &DiagError{Diags: d, Files: files}
}
