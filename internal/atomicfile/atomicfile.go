// Package atomicfile writes a file whole or not at all: into a temporary
// file in the same directory, renamed over the file once written and
// closed. A reader sees the old content or the new, never part of either,
// and a failed write leaves the file as it was and no temporary file.
package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write makes path hold what write writes, with permissions perm. The
// temporary file is ".<name>.<random>.tmp" beside path.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteBytes is Write of data.
func WriteBytes(path string, perm fs.FileMode, data []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
