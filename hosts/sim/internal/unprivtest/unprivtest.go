// Package unprivtest runs tests of the simulated host again as an
// unprivileged user, so that a test run as root (CI) also proves what the
// simulator does without root (sshd's user namespaces).
package unprivtest

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Env is set in the unprivileged run: there a test must not skip for
// want of user namespaces, since Rerun checked that they work.
const Env = "XENLAB_SIM_TEST_UNPRIVILEGED"

// UID is the unprivileged user (Debian's nobody).
const UID = 65534

// Required says whether this run is Rerun's unprivileged one.
func Required() bool { return os.Getenv(Env) != "" }

// Rerun runs the named tests in a copy of this test binary as UID (the
// binary lies in go's 0700 work directory) with a temporary directory of
// that user's, and fails with their output unless every one passed. It
// skips where that user cannot make a user namespace (unshare -Ur). Call
// it as root only.
func Rerun(t *testing.T, tests []string) {
	t.Helper()
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: UID, Gid: UID}}
	probe := exec.Command("unshare", "-Ur", "true")
	probe.SysProcAttr = cred
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("unprivileged user namespaces unavailable here (unshare -Ur as uid %d: %v %s)", UID, err, bytes.TrimSpace(out))
	}
	dir, err := os.MkdirTemp("", "xenlab-unpriv-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := copyExecutable(exe); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, UID, UID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.v", "-test.count=1", "-test.run", "^("+strings.Join(tests, "|")+")$")
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "TMPDIR=" + tmp, Env + "=1"}
	cmd.SysProcAttr = cred
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid %d: %v\n%s", UID, err, out)
	}
	for _, name := range tests {
		if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).Match(out) {
			t.Errorf("as uid %d, %s did not pass:\n%s", UID, name, out)
		}
	}
}

func copyExecutable(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
