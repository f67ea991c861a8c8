package xapid

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
)

// Python3 is the interpreter dom0 plugins run under: Debian's system Python
// (/usr/bin/python3), where Debian's Python packages such as
// python3-os-xenapi are installed, else the first python3 on PATH. A python3
// of a version manager (pyenv, a virtualenv) that comes first on PATH would
// not see those packages.
func Python3() string {
	const system = "/usr/bin/python3"
	if st, err := os.Stat(system); err == nil && st.Mode()&0o111 != 0 {
		return system
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}

// Python2 finds a CPython 2.7 on this machine, without downloading
// anything: python2.7 or python2 on PATH, /usr/bin/python2.7 and
// /usr/bin/python2, then the 2.7 versions of pyenv (PYENV_ROOT, else
// ~/.pyenv). A candidate counts only if it runs and says it is 2.x; the
// path returned is its sys.executable. pyenv's shims on PATH are passed
// over for the versions they stand for, tried directly: a shim is a bash
// script that runs a dozen more to choose its interpreter (about a quarter
// of a CPU-second, measured with perf at each simulator start). The result
// is cached for the process.
func Python2() (string, error) {
	python2Once.Do(func() { python2Path, python2Err = findPython2() })
	return python2Path, python2Err
}

var (
	python2Once sync.Once
	python2Path string
	python2Err  error
)

func findPython2() (string, error) {
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	var cands []string
	for _, name := range []string{"python2.7", "python2"} {
		if p, err := exec.LookPath(name); err == nil && !pyenvShim(root, p) {
			cands = append(cands, p)
		}
	}
	cands = append(cands, "/usr/bin/python2.7", "/usr/bin/python2", "/usr/local/bin/python2.7")
	if root != "" {
		vers, _ := filepath.Glob(filepath.Join(root, "versions", "2.7*", "bin", "python2.7"))
		sort.Sort(sort.Reverse(sort.StringSlice(vers))) // newest 2.7.x first
		cands = append(cands, vers...)
	}
	const probe = "import sys; sys.stdout.write(sys.executable); sys.exit(sys.version_info[0] != 2)"
	for _, c := range cands {
		out, err := exec.Command(c, "-c", probe).Output()
		if err != nil || len(out) == 0 {
			continue
		}
		return string(out), nil
	}
	return "", errors.New("no Python 2 on this machine (looked for python2.7 and python2 on PATH, /usr/bin, and pyenv's versions/2.7*)")
}

// pyenvShim says whether p is one of pyenv's shims (in <root>/shims, or a
// plugin's, such as pyenv-virtualenv's <root>/plugins/*/shims).
func pyenvShim(root, p string) bool {
	if root == "" {
		return false
	}
	dir := filepath.Dir(p)
	if filepath.Base(dir) != "shims" {
		return false
	}
	up := filepath.Dir(dir)
	return up == root || filepath.Dir(up) == filepath.Join(root, "plugins")
}

// PluginPython is the interpreter behind dom0's `python` for a release:
// Python 2 on 6.x and 7.x when this machine has one, else (and on 8.x)
// Python3(). note says, when it is not what the release runs, why.
func PluginPython(r Release) (path, note string) {
	if r.PythonMajor == 2 {
		p, err := Python2()
		if err == nil {
			return p, ""
		}
		return Python3(), fmt.Sprintf("XenServer %s runs dom0 plugins under Python 2, but %v: plugins run under Python 3 (%s)", r.Name, err, Python3())
	}
	return Python3(), ""
}
