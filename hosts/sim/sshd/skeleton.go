package sshd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// hostRel turns a path inside the host into a path relative to the host's
// root directory: cleaned as an absolute path, so ".." stops at "/".
func hostRel(p string) string {
	c := path.Clean("/" + p)
	if c == "/" {
		return "."
	}
	return c[1:]
}

// HostPath maps an absolute path inside the host (such as
// /etc/xapi.d/plugins/netwrap) to the file that holds it on this machine.
// It is lexical: a symbolic link on the way is not followed.
func (s *Server) HostPath(p string) string {
	return filepath.Join(s.cfg.Root, filepath.FromSlash(hostRel(p)))
}

// prepareRoot creates the host's directory, its skeleton and the users'
// homes, and opens it as an os.Root that every file access goes through.
func prepareRoot(cfg Config) (*os.Root, error) {
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if err := writeSkeleton(root, cfg); err != nil {
		root.Close()
		return nil, err
	}
	return root, nil
}

func writeSkeleton(root *os.Root, cfg Config) error {
	paths := make([]string, 0, len(cfg.Skeleton))
	for p := range cfg.Skeleton {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel := hostRel(p)
		if strings.HasSuffix(p, "/") {
			if err := root.MkdirAll(rel, 0o755); err != nil {
				return fmt.Errorf("skeleton %s: %w", p, err)
			}
			continue
		}
		if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return fmt.Errorf("skeleton %s: %w", p, err)
		}
		content := cfg.Skeleton[p]
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue // the host already has it: keep its state
		}
		if err != nil {
			return fmt.Errorf("skeleton %s: %w", p, err)
		}
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("skeleton %s: %w", p, err)
		}
	}
	for dst := range cfg.ReadOnlyBinds {
		if err := root.MkdirAll(hostRel(dst), 0o755); err != nil {
			return fmt.Errorf("mount point %s: %w", dst, err)
		}
	}
	for name, u := range cfg.Users {
		if err := root.MkdirAll(hostRel(u.Home), 0o755); err != nil {
			return fmt.Errorf("home of %s: %w", name, err)
		}
	}
	return nil
}
