package sshd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// serveSFTP runs the SFTP subsystem on the session's channel until the
// client ends it or the channel closes.
func (ss *session) serveSFTP() {
	home := ss.srv.cfg.Users[ss.user].Home
	h := &hostFS{root: ss.srv.root, home: home}
	ch := &sftpChannel{Channel: ss.ch}
	rs := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h},
		sftp.WithStartDirectory(home))
	stop := make(chan struct{})
	go func() {
		select {
		case <-ss.ctx.Done():
			rs.Close()
		case <-stop:
		}
	}()
	err := rs.Serve()
	close(stop)
	if err != nil && !errors.Is(err, io.EOF) {
		ss.srv.logf("%s: sftp: %v", ss.user, err)
	}
	ch.end()
	ss.finish(exitStatus{})
}

// sftpChannel is the session's channel as the SFTP server writes to it.
// pkg/sftp's packet manager may still be sending its last replies after
// Serve has returned, and ssh.Channel's CloseWrite must not run beside a
// Write (both touch the channel's EOF flag): end waits for a write in
// progress and refuses those after it, so that the session may end the
// channel.
type sftpChannel struct {
	ssh.Channel
	mu    sync.Mutex
	ended bool
}

func (c *sftpChannel) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return 0, io.ErrClosedPipe
	}
	return c.Channel.Write(p)
}

func (c *sftpChannel) end() {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
}

// hostFS is the SFTP view of a host: every path is an absolute path inside
// the host, resolved through os.Root so that neither ".." nor a symbolic
// link leads out of the host's directory.
type hostFS struct {
	root *os.Root
	home string
}

var (
	_ sftp.OpenFileWriter       = (*hostFS)(nil)
	_ sftp.PosixRenameFileCmder = (*hostFS)(nil)
	_ sftp.LstatFileLister      = (*hostFS)(nil)
	_ sftp.RealPathFileLister   = (*hostFS)(nil)
	_ sftp.ReadlinkFileLister   = (*hostFS)(nil)
)

// Fileread opens a file for reading.
func (h *hostFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return h.root.OpenFile(hostRel(r.Filepath), os.O_RDONLY, 0)
}

// Filewrite opens a file for writing with the open request's flags.
func (h *hostFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return h.open(r, os.O_WRONLY)
}

// OpenFile opens a file for reading and writing.
func (h *hostFS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return h.open(r, os.O_RDWR)
}

func (h *hostFS) open(r *sftp.Request, flag int) (*os.File, error) {
	pf := r.Pflags()
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	// Append is not passed on: writes carry their offsets (WriteAt), and
	// O_APPEND would make them fail.
	return h.root.OpenFile(hostRel(r.Filepath), flag, openPerm(r.Attrs))
}

// openPerm is the permission an SFTP open asks for a new file (its attrs:
// flags, then size, uid/gid, permissions in that order), else 0644.
func openPerm(attrs []byte) fs.FileMode {
	const (
		attrSize   = 0x1
		attrUIDGID = 0x2
		attrPerm   = 0x4
	)
	if len(attrs) < 4 {
		return 0o644
	}
	flags := binary.BigEndian.Uint32(attrs)
	off := 4
	if flags&attrSize != 0 {
		off += 8
	}
	if flags&attrUIDGID != 0 {
		off += 8
	}
	if flags&attrPerm == 0 || len(attrs) < off+4 {
		return 0o644
	}
	return unixMode(binary.BigEndian.Uint32(attrs[off:]))
}

// unixMode converts permission bits from the wire to an os.FileMode. The
// set-user-ID and set-group-ID bits are dropped: the host's files are files
// of this machine, written by a simulator that runs as root, so such a
// file would be a set-user-ID-root program here.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// Filecmd runs setstat, rename, remove, mkdir, rmdir, symlink and link.
func (h *hostFS) Filecmd(r *sftp.Request) error {
	rel := hostRel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(rel, r)
	case "Rename":
		// SFTP v3 rename does not replace an existing target.
		if _, err := h.root.Lstat(hostRel(r.Target)); err == nil {
			return &os.PathError{Op: "rename", Path: r.Target, Err: fs.ErrExist}
		}
		return h.root.Rename(rel, hostRel(r.Target))
	case "Remove":
		fi, err := h.root.Lstat(rel)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return &os.PathError{Op: "remove", Path: r.Filepath, Err: syscall.EISDIR}
		}
		return h.root.Remove(rel)
	case "Rmdir":
		fi, err := h.root.Lstat(rel)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &os.PathError{Op: "rmdir", Path: r.Filepath, Err: syscall.ENOTDIR}
		}
		return h.root.Remove(rel)
	case "Mkdir":
		return h.root.Mkdir(rel, 0o755)
	case "Symlink":
		// r.Filepath is the link's target, kept as given; following the
		// link later is confined like any other path.
		return h.root.Symlink(r.Filepath, hostRel(r.Target))
	case "Link":
		return h.root.Link(rel, hostRel(r.Target))
	}
	return fmt.Errorf("%s: %w", r.Method, sftp.ErrSSHFxOpUnsupported)
}

// PosixRename is posix-rename@openssh.com: rename, replacing the target.
func (h *hostFS) PosixRename(r *sftp.Request) error {
	return h.root.Rename(hostRel(r.Filepath), hostRel(r.Target))
}

func (h *hostFS) setstat(rel string, r *sftp.Request) error {
	flags := r.AttrFlags()
	attrs := r.Attributes()
	if flags.Size {
		f, err := h.root.OpenFile(rel, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(attrs.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := h.root.Chmod(rel, unixMode(attrs.Mode)); err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := h.root.Chown(rel, int(attrs.UID), int(attrs.GID)); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := h.root.Chtimes(rel, time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0)); err != nil {
			return err
		}
	}
	return nil
}

// Filelist answers readdir and stat (following links).
func (h *hostFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	rel := hostRel(r.Filepath)
	switch r.Method {
	case "List":
		d, err := h.root.Open(rel)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err := d.Readdir(-1)
		if err != nil {
			return nil, err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		return listerAt(entries), nil
	case "Stat":
		fi, err := h.root.Stat(rel)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, fmt.Errorf("%s: %w", r.Method, sftp.ErrSSHFxOpUnsupported)
}

// Lstat answers lstat (not following a final link).
func (h *hostFS) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.root.Lstat(hostRel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

// RealPath makes p absolute inside the host, relative to the user's home.
// It is lexical: links are not resolved.
func (h *hostFS) RealPath(p string) (string, error) {
	if !path.IsAbs(p) {
		p = path.Join(h.home, p)
	}
	return path.Clean("/" + p), nil
}

// Readlink returns a link's target as stored.
func (h *hostFS) Readlink(p string) (string, error) {
	return h.root.Readlink(hostRel(p))
}

// listerAt serves a directory listing (or one stat result) in pages.
type listerAt []os.FileInfo

// ListAt copies entries from offset into ls.
func (l listerAt) ListAt(ls []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[offset:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}
