package ovs

import (
	"fmt"
	"os"
	"path/filepath"
)

// maxSocketDir is the longest run directory whose sockets (tools.sock,
// <bridge>.mgmt, ovs-vswitchd.<pid>.ctl) stay within a unix socket path's
// 107 bytes for bridge names up to 15 bytes (the Linux device name limit).
const maxSocketDir = 107 - len("/ovs-vswitchd.4194304.ctl")

// runDir makes the directory a switch keeps its sockets in: dir/run, or,
// when that path is too long for unix sockets, a short directory under the
// system's temporary directory with dir/run a symbolic link to it. remove
// deletes whatever was made.
func makeRunDir(dir string) (path string, remove func(), err error) {
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if len(run) <= maxSocketDir {
		if err := os.MkdirAll(run, 0o755); err != nil {
			return "", nil, fmt.Errorf("create %s: %w", run, err)
		}
		return run, func() { _ = os.RemoveAll(run) }, nil
	}
	short, err := os.MkdirTemp("", "xlovs")
	if err != nil {
		return "", nil, fmt.Errorf("create a short run directory for %s: %w", dir, err)
	}
	if len(short) > maxSocketDir {
		_ = os.RemoveAll(short)
		return "", nil, fmt.Errorf("run directory %s is too long for unix sockets", short)
	}
	_ = os.Remove(run)
	if err := os.Symlink(short, run); err != nil {
		_ = os.RemoveAll(short)
		return "", nil, fmt.Errorf("link %s to %s: %w", run, short, err)
	}
	return short, func() {
		_ = os.RemoveAll(short)
		_ = os.Remove(run)
	}, nil
}
