package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"xenlab/hosts/ssh"
)

// SourceManifest is where, in domU, the agents step keeps what it uploaded
// from a local devstack checkout (lab file devstack.source): the digest of
// the checkout on the first line, then the path of every entry sent. An up
// with an unchanged checkout finds the same digest and sends nothing.
const SourceManifest = StackHome + "/xenlab-devstack.manifest"

// uploadWorkers bounds the SFTP writes in flight on the one connection.
const uploadWorkers = 4

// srcEntry is one entry of a local checkout.
type srcEntry struct {
	rel    string      // slash-separated, relative to the checkout
	kind   byte        // 'f' file, 'd' directory, 'l' symlink (find's %y)
	mode   fs.FileMode // permission bits (not for links)
	sum    string      // files: hex SHA-256
	target string      // links
	local  string      // files: the local path
}

// checkout is a local devstack checkout as it will be in domU.
type checkout struct {
	root     string
	entries  []srcEntry // sorted by rel
	manifest []byte     // SourceManifest's content
}

// readCheckout walks root: regular files, directories and symlinks, with
// every .git (a repository or a submodule's gitfile) and the top-level
// localrc (xenlab writes its own, and a developer's may hold passwords)
// left out, as are sockets, pipes and devices.
func readCheckout(root string) (*checkout, error) {
	co := &checkout{root: root}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" || rel == "localrc" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.ContainsAny(rel, "\n\t\\") {
			return fmt.Errorf("%s: a name with a newline, tab or backslash is not uploaded", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := srcEntry{rel: rel, mode: info.Mode().Perm()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.kind, e.mode = 'l', 0
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
			if strings.ContainsAny(e.target, "\n\t") {
				return fmt.Errorf("%s: a link target with a newline or tab is not uploaded", p)
			}
		case info.IsDir():
			e.kind = 'd'
		case info.Mode().IsRegular():
			e.kind, e.local = 'f', p
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sum(b)
		default:
			return nil
		}
		co.entries = append(co.entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("devstack.source: %w", err)
	}
	slices.SortFunc(co.entries, func(a, b srcEntry) int { return strings.Compare(a.rel, b.rel) })
	h := sha256.New()
	var list strings.Builder
	for _, e := range co.entries {
		fmt.Fprintf(h, "%c\t%o\t%s\t%s%s\n", e.kind, e.mode, e.rel, e.sum, e.target)
		list.WriteString(e.rel + "\n")
	}
	co.manifest = []byte("xenlab-devstack-source sha256:" + hex.EncodeToString(h.Sum(nil)) + "\n" + list.String())
	return co, nil
}

// manifestFile is the manifest as one of the agents' files, so that Check
// compares it with the others in its one command.
func (co *checkout) manifestFile() agentFile {
	return agentFile{path: SourceManifest, data: co.manifest}
}

// remoteEntry is an entry of DevstackDir in domU.
type remoteEntry struct {
	kind   byte
	mode   fs.FileMode
	sum    string
	target string
}

// remoteTree lists DevstackDir in domU (one command): every entry but .git
// and the top-level localrc, with file checksums; and the previous manifest's
// paths (nil when there is none).
func remoteTree(ctx context.Context, c *ssh.Client) (tree map[string]remoteEntry, previous []string, hasDir bool, err error) {
	cmd := "if [ -f " + SourceManifest + " ]; then echo manifest; tail -n +2 " + SourceManifest + "; fi; echo --; " +
		"cd " + DevstackDir + " 2>/dev/null || exit 0; echo dir; " +
		`find . -mindepth 1 \( -name .git -o -path ./localrc \) -prune -o -printf '%y\t%m\t%P\t%l\n'; echo --; ` +
		`find . -mindepth 1 \( -name .git -o -path ./localrc \) -prune -o -type f -print0 | xargs -0 -r sha256sum --`
	res, err := c.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return nil, nil, false, fmt.Errorf("domU: listing %s: %w", DevstackDir, err)
	}
	tree = map[string]remoteEntry{}
	part := 0
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		switch {
		case l == "--":
			part++
		case part == 0 && l == "manifest":
			previous = []string{}
		case part == 0 && l != "":
			previous = append(previous, l)
		case part == 1 && l == "dir":
			hasDir = true
		case part == 1:
			f := strings.SplitN(l, "\t", 4)
			if len(f) != 4 {
				continue
			}
			m, _ := strconv.ParseUint(f[1], 8, 32)
			e := remoteEntry{kind: f[0][0], mode: fs.FileMode(m), target: f[3]}
			if e.kind == 'l' {
				e.mode = 0
			}
			tree[f[2]] = e
		case part == 2:
			if s, p, ok := strings.Cut(l, "  ./"); ok {
				if e, ok := tree[p]; ok {
					e.sum = s
					tree[p] = e
				}
			}
		}
	}
	return tree, previous, hasDir, nil
}

// syncResult says what syncSource did.
type syncResult struct {
	Unchanged bool
	Files     int   // files sent
	Bytes     int64 // their bytes
	Removed   int
}

// syncSource makes DevstackDir in domU the local checkout, over the one
// SSH connection c: nothing when domU's manifest is this checkout's; else
// only the files that differ are sent (SFTP, a few at a time), entries the
// previous upload made that the checkout no longer has are removed (what
// stack.sh made in the directory stays), modes and links are set, and the
// manifest is written last. A clone found there (no manifest) is replaced.
// Everything is written as the SSH user, the stack user.
func syncSource(ctx context.Context, c *ssh.Client, co *checkout) (syncResult, error) {
	var r syncResult
	st, err := readAgents(ctx, c, []agentFile{co.manifestFile()})
	if err != nil {
		return r, err
	}
	if st.sums[SourceManifest] == sum(co.manifest) {
		r.Unchanged = true
		return r, nil
	}
	tree, previous, hasDir, err := remoteTree(ctx, c)
	if err != nil {
		return r, err
	}
	var pre []string // removals and directories, before the files
	if hasDir && previous == nil {
		pre = append(pre, "rm -rf "+DevstackDir) // a clone, or something else: replaced
		tree = map[string]remoteEntry{}
	}
	want := map[string]bool{}
	for _, e := range co.entries {
		want[e.rel] = true
	}
	for _, p := range previous {
		if _, there := tree[p]; there && !want[p] {
			pre = append(pre, "rm -rf -- "+ssh.ShellQuote(path.Join(DevstackDir, p)))
			delete(tree, p)
			r.Removed++
		}
	}
	pre = append(pre, "mkdir -p "+DevstackDir)
	var puts []srcEntry
	var post []string // links and modes, after the files
	for _, e := range co.entries {
		dst := ssh.ShellQuote(path.Join(DevstackDir, e.rel))
		old, there := tree[e.rel]
		if there && old.kind != e.kind {
			pre = append(pre, "rm -rf -- "+dst)
			there = false
		}
		switch e.kind {
		case 'd':
			if !there {
				pre = append(pre, "mkdir -p -m 0700 -- "+dst)
			}
			if !there || old.mode != e.mode {
				post = append(post, fmt.Sprintf("chmod %04o -- %s", e.mode, dst))
			}
		case 'l':
			if !there || old.target != e.target {
				post = append(post, "ln -sfn -- "+ssh.ShellQuote(e.target)+" "+dst)
			}
		case 'f':
			if !there || old.sum != e.sum {
				puts = append(puts, e)
			} else if old.mode != e.mode {
				post = append(post, fmt.Sprintf("chmod %04o -- %s", e.mode, dst))
			}
		}
	}
	if err := runScript(ctx, c, pre); err != nil {
		return r, err
	}
	if err := putFiles(ctx, c, puts, &r); err != nil {
		return r, err
	}
	// Directory modes last, deepest first, so a read-only directory is
	// made so only after what goes in it.
	slices.Reverse(post)
	if err := runScript(ctx, c, post); err != nil {
		return r, err
	}
	if _, err := c.Put(ctx, co.manifest, SourceManifest, 0o644); err != nil {
		return r, fmt.Errorf("domU: writing %s: %w", SourceManifest, err)
	}
	return r, nil
}

// runScript runs the commands in domU as one sh script given on stdin (no
// limit on its length from the command line).
func runScript(ctx context.Context, c *ssh.Client, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	script := "set -e\n" + strings.Join(cmds, "\n") + "\n"
	_, err := c.Run(ctx, "sh -s", ssh.WithStdin(strings.NewReader(script)))
	if err != nil {
		return fmt.Errorf("domU: preparing %s: %w", DevstackDir, err)
	}
	return nil
}

// putFiles sends the files, uploadWorkers at a time, each written to a
// temporary name and renamed into place with its mode.
func putFiles(ctx context.Context, c *ssh.Client, puts []srcEntry, r *syncResult) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	work := make(chan srcEntry)
	for range min(uploadWorkers, len(puts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				b, err := os.ReadFile(e.local)
				var n int64
				if err == nil {
					n, err = c.Put(ctx, b, path.Join(DevstackDir, e.rel), e.mode)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("domU: uploading %s: %w", e.local, err)
					cancel()
				}
				if err == nil {
					r.Files++
					r.Bytes += n
				}
				mu.Unlock()
			}
		}()
	}
send:
	for _, e := range puts {
		select {
		case work <- e:
		case <-ctx.Done():
			break send
		}
	}
	close(work)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}
