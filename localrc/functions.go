package localrc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	readFile  func(name string) ([]byte, error) // readRegular with MaxFileSize
	reads     *fileReads                        // what file() returned; set by parse
}

func osEnv(dir string) evalEnv {
	return evalEnv{dir: dir, lookupEnv: os.LookupEnv, readFile: func(name string) ([]byte, error) {
		return readRegular(name, MaxFileSize)
	}}
}

// MaxFileSize is the most file() reads: a password, a key or a preseed file
// is far smaller, and /dev/zero or a log must not fill the memory.
const MaxFileSize = 1 << 20

// readRegular reads a regular file of at most limit bytes. It opens with
// O_NONBLOCK, so a named pipe with no writer cannot block the open, and
// refuses anything but a regular file (pipes, devices, sockets,
// directories) before reading a byte: a read from a regular file always
// ends, which is what lets a Ctrl-C stop xenlab at once. The size is
// checked before reading and again while reading (a file may grow, and
// /proc files say 0).
func readRegular(name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &notRegularError{mode: fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, &tooLargeError{size: fi.Size(), limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{size: -1, limit: limit}
	}
	return b, nil
}

// notRegularError says what a non-regular file is instead.
type notRegularError struct{ mode fs.FileMode }

func (e *notRegularError) Error() string {
	kind := "not a regular file"
	switch t := e.mode.Type(); {
	case t&fs.ModeDir != 0:
		kind = "a directory"
	case t&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	case t&fs.ModeCharDevice != 0:
		kind = "a character device"
	case t&fs.ModeDevice != 0:
		kind = "a block device"
	}
	return "it is " + kind + ", not a regular file"
}

// tooLargeError says a file is over the limit (size -1: it grew while read).
type tooLargeError struct{ size, limit int64 }

func (e *tooLargeError) Error() string {
	if e.size < 0 {
		return fmt.Sprintf("it is larger than %s, the most xenlab reads", sizeText(e.limit))
	}
	return fmt.Sprintf("it is %d bytes, more than %s, the most xenlab reads", e.size, sizeText(e.limit))
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
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
// file's directory. Only regular UTF-8 files of at most MaxFileSize bytes
// are read; errors name the file as written and what is wrong with it,
// never its contents. What it returns is noted in e.reads so that
// diagnostics can leave it out (see hideFileContents).
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
			if c, ok := e.reads.get(written); ok {
				return cty.StringVal(c), nil
			}
			b, err := e.readFile(p)
			if err == nil && len(b) > MaxFileSize {
				err = &tooLargeError{size: int64(len(b)), limit: MaxFileSize}
			}
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
				return cty.NilVal, fmt.Errorf("cannot read %q (relative to the lab file): it is not UTF-8 text", written)
			}
			content := string(b)
			e.reads.note(written, content)
			return cty.StringVal(content), nil
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

// fileReads records what file() returned in one parse, by path as written,
// so that diagnostics can be kept from quoting it.
type fileReads struct {
	byPath map[string]string
}

func (r *fileReads) get(path string) (string, bool) {
	if r == nil {
		return "", false
	}
	c, ok := r.byPath[path]
	return c, ok
}

func (r *fileReads) note(path, content string) {
	if r == nil {
		return
	}
	if r.byPath == nil {
		r.byPath = map[string]string{}
	}
	r.byPath[path] = content
}

// values returns every recorded content and its trimmed form, non-empty,
// with the path each came from.
func (r *fileReads) values() map[string]string {
	out := map[string]string{}
	if r == nil {
		return out
	}
	for p, c := range r.byPath {
		for _, v := range []string{c, strings.TrimSpace(c)} {
			if v != "" {
				out[v] = p
			}
		}
	}
	return out
}
