package xapid

import (
	"os"
	"os/exec"
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
