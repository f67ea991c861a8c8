package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
)

// UploadResult says what an upload did.
type UploadResult struct {
	// Skipped is true when the remote file already had this content, so
	// nothing was transferred (its mode is still corrected).
	Skipped bool
	// Bytes is the number of bytes transferred (0 when skipped).
	Bytes int64
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
}

// sftpClient returns the connection's SFTP client, starting it on first
// use.
func (c *Client) sftpClient(k *conn) (*sftp.Client, error) {
	k.sftpMu.Lock()
	defer k.sftpMu.Unlock()
	if k.sftp != nil {
		return k.sftp, nil
	}
	sc, err := sftp.NewClient(k.client)
	if err != nil {
		return nil, err
	}
	c.sessions.Add(1)
	k.sftp = sc
	return sc, nil
}

// withSFTP runs op with the SFTP client; if the connection turns out to be
// lost, it redials and runs op once more (every op here is idempotent).
func (c *Client) withSFTP(ctx context.Context, what string, op func(*sftp.Client) error) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var k *conn
		k, err = c.get(ctx)
		if err != nil {
			return err
		}
		var sc *sftp.Client
		sc, err = c.sftpClient(k)
		if err == nil {
			err = op(sc)
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		if !errors.Is(err, sftp.ErrSSHFxConnectionLost) && !errors.Is(err, io.EOF) && !k.dead() {
			break
		}
		k.markDead()
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("ssh %s: %s: %w", c.cfg.Host, what, err)
	}
	return nil
}

// Upload copies the local file to remotePath with mode, atomically: it
// writes a temporary file in the same directory and renames it over the
// target. It skips the transfer when the remote file has the same content.
func (c *Client) Upload(ctx context.Context, localPath, remotePath string, mode fs.FileMode) (UploadResult, error) {
	f, err := os.Open(localPath)
	if err != nil {
		return UploadResult{}, fmt.Errorf("ssh %s: upload: %w", c.cfg.Host, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return UploadResult{}, fmt.Errorf("ssh %s: upload %s: %w", c.cfg.Host, localPath, err)
	}
	return c.upload(ctx, f, size, hex.EncodeToString(h.Sum(nil)), remotePath, mode)
}

// UploadBytes is Upload from memory.
func (c *Client) UploadBytes(ctx context.Context, data []byte, remotePath string, mode fs.FileMode) (UploadResult, error) {
	sum := sha256.Sum256(data)
	return c.upload(ctx, bytes.NewReader(data), int64(len(data)), hex.EncodeToString(sum[:]), remotePath, mode)
}

func (c *Client) upload(ctx context.Context, src io.ReadSeeker, size int64, sum, remotePath string, mode fs.FileMode) (UploadResult, error) {
	res := UploadResult{SHA256: sum}
	if st, err := c.sameContent(ctx, remotePath, size, sum); err != nil {
		return res, err
	} else if st != nil {
		res.Skipped = true
		if st.Mode().Perm() == mode.Perm() {
			return res, nil
		}
		return res, c.withSFTP(ctx, "chmod "+remotePath, func(sc *sftp.Client) error {
			return sc.Chmod(remotePath, mode.Perm())
		})
	}
	err := c.withSFTP(ctx, "upload "+remotePath, func(sc *sftp.Client) error {
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return err
		}
		n, err := writeAtomic(ctx, sc, src, remotePath, mode)
		res.Bytes = n
		return err
	})
	return res, err
}

// sameContent returns remotePath's FileInfo when it is a regular file of
// this size and SHA-256, else nil. The size is checked first over SFTP; only
// an equal size costs a hash, computed remotely by sha256sum, or, where that
// fails, by reading the file back. The caller corrects the mode from the
// returned FileInfo, without a second stat.
func (c *Client) sameContent(ctx context.Context, remotePath string, size int64, sum string) (fs.FileInfo, error) {
	var st fs.FileInfo
	err := c.withSFTP(ctx, "stat "+remotePath, func(sc *sftp.Client) error {
		var err error
		st, err = sc.Stat(remotePath)
		if errors.Is(err, fs.ErrNotExist) {
			st, err = nil, nil
		}
		return err
	})
	if err != nil || st == nil || !st.Mode().IsRegular() || st.Size() != size {
		return nil, err
	}
	remote, err := c.remoteSHA256(ctx, remotePath)
	if err != nil || remote != sum {
		return nil, err
	}
	return st, nil
}

// remoteSHA256 returns the hex SHA-256 of remotePath, computed by
// sha256sum on the host, or by reading the file back where that fails.
func (c *Client) remoteSHA256(ctx context.Context, remotePath string) (string, error) {
	res, err := c.Run(ctx, "sha256sum -- "+ShellQuote(remotePath))
	if err == nil {
		fields := strings.Fields(string(res.Stdout))
		if len(fields) > 0 && len(fields[0]) == sha256.Size*2 {
			return fields[0], nil
		}
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("ssh %s: checksum %s: %w", c.cfg.Host, remotePath, ctx.Err())
	}
	return c.downloadSHA256(ctx, remotePath)
}

// downloadSHA256 hashes remotePath by reading it over SFTP.
func (c *Client) downloadSHA256(ctx context.Context, remotePath string) (string, error) {
	h := sha256.New()
	err := c.withSFTP(ctx, "checksum "+remotePath, func(sc *sftp.Client) error {
		h.Reset()
		f, err := sc.Open(remotePath)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteTo(ctxWriter{ctx, h})
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeAtomic writes src to a temporary name beside dst, sets its mode and
// renames it over dst (posix-rename@openssh.com when the server has it,
// else remove and rename). The temporary file is removed on failure.
func writeAtomic(ctx context.Context, sc *sftp.Client, src io.Reader, dst string, mode fs.FileMode) (int64, error) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".xenlab-"+hex.EncodeToString(rnd[:]))
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return 0, err
	}
	n, err := f.ReadFrom(ctxReader{ctx, src})
	if err == nil {
		err = f.Chmod(mode.Perm())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if _, ok := sc.HasExtension("posix-rename@openssh.com"); ok {
			err = sc.PosixRename(tmp, dst)
		} else {
			if rerr := sc.Remove(dst); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = rerr
			}
			if err == nil {
				err = sc.Rename(tmp, dst)
			}
		}
	}
	if err != nil {
		_ = sc.Remove(tmp)
		return n, err
	}
	return n, nil
}

// Put writes data to remotePath with mode, atomically (as Upload does),
// without first comparing it with what is there: for callers that already
// know it differs. It returns the bytes written.
func (c *Client) Put(ctx context.Context, data []byte, remotePath string, mode fs.FileMode) (int64, error) {
	var n int64
	err := c.withSFTP(ctx, "upload "+remotePath, func(sc *sftp.Client) error {
		var err error
		n, err = writeAtomic(ctx, sc, bytes.NewReader(data), remotePath, mode)
		return err
	})
	return n, err
}

// Download returns the content of remotePath.
func (c *Client) Download(ctx context.Context, remotePath string) ([]byte, error) {
	var buf bytes.Buffer
	err := c.withSFTP(ctx, "download "+remotePath, func(sc *sftp.Client) error {
		buf.Reset()
		f, err := sc.Open(remotePath)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteTo(ctxWriter{ctx, &buf})
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MkdirAll creates dir and its missing parents, like mkdir -p.
func (c *Client) MkdirAll(ctx context.Context, dir string) error {
	return c.withSFTP(ctx, "mkdir -p "+dir, func(sc *sftp.Client) error { return sc.MkdirAll(dir) })
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ctxReader stops a transfer when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// ctxWriter stops a transfer when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}
