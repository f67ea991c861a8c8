package localrc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evalEnv is what expressions in a lab file may see: the environment and
// the files beside the lab file. Tests and Import substitute their own.
type evalEnv struct {
	dir       string                            // file() paths are relative to this
	lookupEnv func(string) (string, bool)       // os.LookupEnv
	readFile  func(name string) ([]byte, error) // os.ReadFile
}

func osEnv(dir string) evalEnv {
	return evalEnv{dir: dir, lookupEnv: os.LookupEnv, readFile: os.ReadFile}
}

// evalContext offers env("NAME"[, "default"]), file("path") and trimspace(s).
// No variables: a lab file is data, not a program.
func (e evalEnv) evalContext() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"env":       e.envFunc(),
		"file":      e.fileFunc(),
		"trimspace": stdlib.TrimSpaceFunc,
	}}
}

// envFunc returns the value of an environment variable; an unset variable is
// an error unless a default is given as the second argument, so a forgotten
// export of XENAPI_PASSWORD is caught at load time, at the call.
func (e evalEnv) envFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the optional default when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the variable name must not be empty")
			}
			if v, ok := e.lookupEnv(name); ok {
				if !utf8.ValidString(v) {
					return cty.NilVal, fmt.Errorf("environment variable %s is not valid UTF-8", name)
				}
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.NilVal, fmt.Errorf("environment variable %s is not set; export it or give a default: env(%q, \"...\")", name, name)
		},
	})
}

// fileFunc returns a file's contents; a relative path is relative to the lab
// file's directory.
func (e evalEnv) fileFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file; a relative path is relative to the lab file's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			written := args[0].AsString()
			p := expandPath(written, e.dir)
			if p == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the path must not be empty")
			}
			b, err := e.readFile(p)
			if err != nil {
				// Name the path as written (relative to the lab file), not
				// the resolved one, and keep the cause.
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return cty.NilVal, fmt.Errorf("cannot read %q (relative to the lab file): %w", written, err)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, fmt.Errorf("%q is not UTF-8 text", written)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

// expandPath resolves "~/" to the home directory and a relative path against
// dir. "" stays "".
func expandPath(p, dir string) string {
	if p == "" {
		return ""
	}
	if p == "~" || len(p) > 1 && p[0] == '~' && p[1] == '/' {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) && p[0] != '~' {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}
