package sshd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ownDirs are the directories every root has, made in a host's directory
// with their usual modes: a command's writes to them land there.
var ownDirs = []struct {
	path string
	mode os.FileMode
}{
	{"tmp", 0o1777}, {"var/tmp", 0o1777}, {"var/log", 0o755}, {"run", 0o755}, {"root", 0o700},
	{"home", 0o755}, {"opt", 0o755}, {"srv", 0o755}, {"mnt", 0o755}, {"usr/local/bin", 0o755},
	{"usr/local/sbin", 0o755}, {"etc", 0o755},
}

// machineEtc are the files of this machine's /etc that programs need to
// run (users and groups, name service, the dynamic linker's cache, time
// zone): a host's /etc starts as a copy of them, once; it is the host's own
// from then on. /etc/shadow and /etc/gshadow are never copied. The Debian
// alternatives and the certificates (machineEtcDirs) are not copied but
// shown read-only.
var machineEtc = []string{
	"passwd", "group", "nsswitch.conf", "hosts", "host.conf", "gai.conf", "resolv.conf",
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ca-certificates",
	"localtime", "timezone", "services", "protocols", "shells", "profile", "environment",
	"python3", "python3.11", "debian_version",
}

// machineEtcDirs are directories of this machine's /etc that a host sees
// read-only (machineMounts), as it sees /usr: trees of a few hundred
// symbolic links each (the alternatives' links to programs in /usr, the
// certificates' hash links) that programs read and no step writes, and
// that a copy per host would make link by link (on this machine's file
// system, about a millisecond of CPU each).
var machineEtcDirs = []string{"alternatives", "ssl"}

// prepareOwnRoot makes a host's directory ready to be the root of its
// commands: the usual directories and a starting /etc.
func prepareOwnRoot(root string) error {
	for _, d := range ownDirs {
		p := filepath.Join(root, d.path)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("own root: %w", err)
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return fmt.Errorf("own root: %w", err)
		}
	}
	for _, name := range machineEtc {
		dst := filepath.Join(root, "etc", name)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := copyTree(filepath.Join("/etc", name), dst); err != nil && !os.IsNotExist(err) && !os.IsPermission(err) {
			return fmt.Errorf("own root: /etc/%s: %w", name, err)
		}
	}
	return nil
}

// copyTree copies a file, symbolic link or directory tree, keeping modes
// but not owners or set-user-ID bits; in a tree, what this process may not
// read is left out.
func copyTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(t, dst)
	case fi.IsDir():
		if err := os.MkdirAll(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			if err != nil && !os.IsPermission(err) { // a server that is not root: /etc/ssl/private is not copied
				return err
			}
		}
		return nil
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil // devices, sockets, pipes: not copied
}
