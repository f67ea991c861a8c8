package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// sshd runs on this machine, so the test checks the remote side directly
// on the local file system.
func TestUploadIsAtomicSetsModeAndSkipsUnchanged(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "etc", "xapi.d", "plugins")
	if err := c.MkdirAll(ctx, dir); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "netwrap")

	res, err := c.UploadBytes(ctx, []byte("#!/bin/sh\necho v1\n"), target, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Bytes != 18 || len(res.SHA256) != 64 {
		t.Fatalf("first upload: %+v", res)
	}
	assertFile(t, target, "#!/bin/sh\necho v1\n", 0o755)
	inode := inodeOf(t, target)

	// Same content: skipped, and the file is untouched.
	res, err = c.UploadBytes(ctx, []byte("#!/bin/sh\necho v1\n"), target, 0o755)
	if err != nil || !res.Skipped || res.Bytes != 0 {
		t.Fatalf("unchanged upload: %+v %v", res, err)
	}
	if inodeOf(t, target) != inode {
		t.Fatal("a skipped upload replaced the file")
	}

	// Same content, other mode: still skipped, mode corrected.
	res, err = c.UploadBytes(ctx, []byte("#!/bin/sh\necho v1\n"), target, 0o700)
	if err != nil || !res.Skipped {
		t.Fatalf("mode-only upload: %+v %v", res, err)
	}
	assertFile(t, target, "#!/bin/sh\necho v1\n", 0o700)

	// Same size, other content: uploaded, through a rename (a new inode:
	// a reader of the old file never sees a half-written one).
	old, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	res, err = c.UploadBytes(ctx, []byte("#!/bin/sh\necho v2\n"), target, 0o755)
	if err != nil || res.Skipped {
		t.Fatalf("changed upload: %+v %v", res, err)
	}
	assertFile(t, target, "#!/bin/sh\necho v2\n", 0o755)
	if inodeOf(t, target) == inode {
		t.Fatal("the file was rewritten in place, not renamed over")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(old); err != nil || buf.String() != "#!/bin/sh\necho v1\n" {
		t.Fatalf("old open file changed under its reader: %q %v", buf.String(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}

	got, err := c.Download(ctx, target)
	if err != nil || string(got) != "#!/bin/sh\necho v2\n" {
		t.Fatalf("Download: %q %v", got, err)
	}
}

func TestUploadFromLocalFileAndDownloadLarge(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()
	local := filepath.Join(t.TempDir(), "devstack.tar")
	data := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB, many SFTP packets
	writeFile(t, local, data, 0o644)
	remote := filepath.Join(t.TempDir(), "opt", "stack", "devstack.tar")
	if err := c.MkdirAll(ctx, filepath.Dir(remote)); err != nil {
		t.Fatal(err)
	}
	res, err := c.Upload(ctx, local, remote, 0o640)
	if err != nil || res.Skipped || res.Bytes != int64(len(data)) {
		t.Fatalf("Upload: %+v %v", res, err)
	}
	got, err := os.ReadFile(remote)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("remote content differs (%d bytes, %v)", len(got), err)
	}
	res, err = c.Upload(ctx, local, remote, 0o640)
	if err != nil || !res.Skipped {
		t.Fatalf("second Upload: %+v %v", res, err)
	}
	down, err := c.Download(ctx, remote)
	if err != nil || !bytes.Equal(down, data) {
		t.Fatalf("Download: %d bytes, %v", len(down), err)
	}
	if _, err := c.Download(ctx, remote+".missing"); err == nil || !strings.Contains(err.Error(), "testhost") {
		t.Fatalf("download of a missing file: %v", err)
	}
}

// Without sha256sum on the host, the checksum is computed by reading the
// remote file back; both ways must agree.
func TestRemoteChecksumBySha256sumAndByDownloadAgree(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "it's a file") // needs quoting
	data := bytes.Repeat([]byte("xenlab\n"), 10000)
	writeFile(t, target, data, 0o600)
	want := sha256.Sum256(data)
	byExec, err := c.remoteSHA256(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	byDownload, err := c.downloadSHA256(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if byExec != hex.EncodeToString(want[:]) || byDownload != byExec {
		t.Fatalf("sha256sum %s, download %s, want %x", byExec, byDownload, want)
	}
}

func assertFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != content {
		t.Errorf("%s: content %q, want %q (%v)", path, b, content, err)
	}
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}
