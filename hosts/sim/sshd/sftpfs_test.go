package sshd

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pkg/sftp"
)

func (h *testHost) sftpClient(t *testing.T) *sftp.Client {
	t.Helper()
	c, err := sftp.NewClient(h.rootClient(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func putFile(t *testing.T, c *sftp.Client, name, content string) error {
	t.Helper()
	f, err := c.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(content)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func getFile(c *sftp.Client, name string) (string, error) {
	f, err := c.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestSFTPAbsolutePathsLandUnderRoot(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.sftpClient(t)
	if err := putFile(t, c, "/etc/xapi.d/plugins/netwrap", "plugin"); err != nil {
		t.Fatal(err)
	}
	if err := c.Chmod("/etc/xapi.d/plugins/netwrap", 0o755); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(h.cfg.Root, "etc/xapi.d/plugins/netwrap")
	fi, err := os.Stat(real)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("under root: %v %v", fi, err)
	}
	if h.srv.HostPath("/etc/xapi.d/plugins/netwrap") != real {
		t.Errorf("HostPath %q", h.srv.HostPath("/etc/xapi.d/plugins/netwrap"))
	}
	// Relative paths start at the user's home inside the host.
	wd, err := c.Getwd()
	if err != nil || wd != "/root" {
		t.Fatalf("working directory %q %v", wd, err)
	}
	if err := putFile(t, c, "local.txt", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.Root, "root/local.txt")); err != nil {
		t.Fatal(err)
	}
	// The skeleton is there, readable, listable.
	if got, err := getFile(c, "/etc/xensource/network.conf"); err != nil || got != "openvswitch\n" {
		t.Fatalf("network.conf %q %v", got, err)
	}
	entries, err := c.ReadDir("/etc")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The skeleton, and under IsolationMountNS the copies of this
	// machine's /etc that programs need; never its shadow.
	if !strings.Contains(","+strings.Join(names, ",")+",", ",xapi.d,xensource,xensource-inventory,") || slices.Contains(names, "shadow") {
		t.Errorf("ls /etc: %v", names)
	}
}

func TestSFTPFileOperations(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.sftpClient(t)
	if err := c.MkdirAll("/opt/stack/devstack"); err != nil {
		t.Fatal(err)
	}
	if err := putFile(t, c, "/opt/stack/devstack/localrc.tmp", "Q_PLUGIN=openvswitch\nEXTRA=1\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate("/opt/stack/devstack/localrc.tmp", int64(len("Q_PLUGIN=openvswitch\n"))); err != nil {
		t.Fatal(err)
	}
	// posix-rename replaces; plain rename does not.
	if err := putFile(t, c, "/opt/stack/devstack/localrc", "old"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("/opt/stack/devstack/localrc.tmp", "/opt/stack/devstack/localrc"); err == nil {
		t.Error("rename replaced an existing file")
	}
	if err := c.PosixRename("/opt/stack/devstack/localrc.tmp", "/opt/stack/devstack/localrc"); err != nil {
		t.Fatal(err)
	}
	if got, _ := getFile(c, "/opt/stack/devstack/localrc"); got != "Q_PLUGIN=openvswitch\n" {
		t.Errorf("after truncate and posix-rename: %q", got)
	}
	fi, err := c.Stat("/opt/stack/devstack/localrc")
	if err != nil || fi.Size() != int64(len("Q_PLUGIN=openvswitch\n")) {
		t.Fatalf("stat %v %v", fi, err)
	}
	// Read and write through one handle.
	f, err := c.OpenFile("/opt/stack/devstack/localrc", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("q"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "q_P" {
		t.Fatalf("read back %q %v", buf, err)
	}
	st, err := f.Stat() // fstat
	if err != nil || st.Size() != fi.Size() {
		t.Fatalf("fstat %v %v", st, err)
	}
	f.Close()
	// Links inside the host work; lstat sees the link.
	if err := c.Symlink("devstack/localrc", "/opt/stack/localrc-link"); err != nil {
		t.Fatal(err)
	}
	if got, err := getFile(c, "/opt/stack/localrc-link"); err != nil || !strings.HasPrefix(got, "q_P") {
		t.Fatalf("through a link inside the host: %q %v", got, err)
	}
	if lfi, err := c.Lstat("/opt/stack/localrc-link"); err != nil || lfi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("lstat %v %v", lfi, err)
	}
	if target, err := c.ReadLink("/opt/stack/localrc-link"); err != nil || target != "devstack/localrc" {
		t.Fatalf("readlink %q %v", target, err)
	}
	// remove, rmdir
	if err := c.RemoveDirectory("/opt/stack/devstack"); err == nil {
		t.Error("rmdir of a non-empty directory succeeded")
	}
	for _, p := range []string{"/opt/stack/localrc-link", "/opt/stack/devstack/localrc"} {
		if err := c.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveDirectory("/opt/stack/devstack"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat("/opt/stack/devstack"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after rmdir: %v", err)
	}
}

// TestSFTPConfinement attacks the SFTP view: nothing outside the host's
// root may be read, written, listed, chmodded or renamed into.
func TestSFTPConfinement(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, "", nil)
	root := h.cfg.Root
	// Links an attacker (or a careless command) left in the host.
	must0(t, os.Symlink(outside, filepath.Join(root, "etc/abs-link")))
	rel, err := filepath.Rel(filepath.Join(root, "etc"), outside)
	if err != nil {
		t.Fatal(err)
	}
	must0(t, os.Symlink(rel, filepath.Join(root, "etc/rel-link")))
	must0(t, os.Symlink(secret, filepath.Join(root, "etc/file-link")))

	c := h.sftpClient(t)
	// The same path inside the host exists, so a lexical escape that is
	// wrongly mapped would find a target on either side.
	must0(t, c.MkdirAll(outside))
	up := strings.Repeat("../", strings.Count(root, "/")+2)
	escapes := []string{
		up + strings.TrimPrefix(secret, "/"),
		"/" + up + strings.TrimPrefix(secret, "/"),
		"/etc/abs-link/secret",
		"/etc/rel-link/secret",
		"/etc/file-link",
		secret, // an absolute path of this machine is a path inside the host
	}
	for _, p := range escapes {
		if got, err := getFile(c, p); err == nil && got == "outside" {
			t.Errorf("read %q escaped: %q", p, got)
		}
		if err := putFile(t, c, p, "pwned"); err == nil {
			if got, _ := os.ReadFile(secret); string(got) == "pwned" {
				t.Fatalf("write %q escaped", p)
			}
		}
		c.Chmod(p, 0o777)
		c.Truncate(p, 0)
	}
	for _, p := range []string{"/etc/abs-link/new", "/etc/rel-link/new", up + strings.TrimPrefix(outside, "/") + "/new"} {
		putFile(t, c, p, "pwned")
		c.Mkdir(p + "dir")
		c.Rename("/etc/xensource-inventory", p+"moved")
		c.Symlink("/", p+"sym")
	}
	if _, err := c.ReadDir("/etc/abs-link"); err == nil {
		t.Error("listed a directory outside through a link")
	}
	// A link made over SFTP pointing out is refused when followed.
	if err := c.Symlink(outside, "/root/mylink"); err != nil {
		t.Fatal(err)
	}
	if got, err := getFile(c, "/root/mylink/secret"); err == nil {
		t.Errorf("read through a new link: %q", got)
	}

	// The outside directory is exactly as it was.
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "secret" {
		t.Errorf("outside directory changed: %v", entries)
	}
	fi, err := os.Stat(secret)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != int64(len("outside")) {
		t.Errorf("secret changed: %v %v", fi, err)
	}
	// The lexical escapes landed inside the host, as on a real host where
	// /.. is /.
	if _, err := os.Stat(filepath.Join(root, strings.TrimPrefix(outside, "/"), "new")); err != nil {
		t.Errorf("../ write did not land inside the root: %v", err)
	}
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// No set-user-ID or set-group-ID file can be made through SFTP: on this
// machine it would be a root program anyone could run.
func TestSFTPMakesNoSetuidFiles(t *testing.T) {
	h := startHost(t, "", nil)
	c := h.sftpClient(t)
	if err := putFile(t, c, "/root/prog", "#!/bin/sh\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Chmod("/root/prog", 0o755|os.ModeSetuid|os.ModeSetgid|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	f, err := c.OpenFile("/root/prog2", os.O_CREATE|os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.Chmod("/root/prog2", 0o4755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prog", "prog2"} {
		fi, err := os.Stat(filepath.Join(h.cfg.Root, "root", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v after chmod with set-ID bits", name, fi.Mode())
		}
	}
}

// TestSFTPSessionsEndCleanly: SFTP sessions that end while pkg/sftp is
// still sending its last replies end without touching the channel beside
// those writes (under -race, a data race on the channel's EOF flag was
// reported here before sftpChannel), and each later session works.
func TestSFTPSessionsEndCleanly(t *testing.T) {
	h := startHost(t, "", nil)
	conn := h.rootClient(t)
	for i := range 40 {
		c, err := sftp.NewClient(conn)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		// Requests in flight when the client closes, so that replies are
		// still being sent as the server's Serve returns.
		for range 4 {
			go c.Stat("/etc")
		}
		if _, err := c.Stat("/etc/xensource"); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		c.Close()
	}
}
