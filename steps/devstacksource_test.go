package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim/devstack"
	"xenlab/hosts/sim/ovs"
)

// writeCheckout writes the devstack stand-in's tree as a local checkout in
// dir, with a .git, a symlink, an executable and a developer's own localrc.
func writeCheckout(t *testing.T, dir string) {
	t.Helper()
	for p, body := range devstack.GuestFiles() {
		rel, ok := strings.CutPrefix(p, devstack.TreeDir+"/")
		if !ok {
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") || strings.HasPrefix(rel, "bin/") {
			mode = 0o755
		}
		f := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	for f, body := range map[string]string{".git/HEAD": "ref: refs/heads/master\n", "localrc": "ADMIN_PASSWORD=the-developers-own\n",
		"tools/.git": "gitdir: ../.git/modules/tools\n", "tools/run.sh": "#!/bin/sh\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("lib/standin", filepath.Join(dir, "standin-link")); err != nil {
		t.Fatal(err)
	}
}

// TestAgentsFromALocalCheckout: devstack.source puts the local checkout in
// domU where the clone would go (no .git, modes and links kept, owned by
// the stack user, the developer's localrc left out) and stack.sh runs from
// it; an unchanged checkout sends nothing and Check is done; a change sends
// only the changed file and removes what the checkout dropped, all over
// the one SSH connection.
func TestAgentsFromALocalCheckout(t *testing.T) {
	t.Parallel() // a simulated host of its own
	sh, cfg, host := simLabOVS(t, ovs.ModeModel)
	needStandIn(t, sh)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	upToAgents(t, ctx, cfg, host)
	src := t.TempDir()
	writeCheckout(t, src)
	if err := os.WriteFile(filepath.Join(src, "doomed"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Devstack.Source = src

	a := &agents{host: host, lab: cfg}
	var out lines
	if err := a.Apply(ctx, &out); err != nil {
		t.Fatalf("agents from %s: %v\n%s", src, err, strings.Join(out, "\n"))
	}
	if all := strings.Join(out, "\n"); !strings.Contains(all, "uploaded "+src+" into "+DevstackDir) || strings.Contains(all, "cloned") {
		t.Errorf("output does not say the checkout was uploaded:\n%s", all)
	}
	if done, err := a.Check(ctx); err != nil || !done {
		t.Errorf("Check after Apply: %v %v", done, err)
	}
	c, err := domUConn(ctx, host, viewOf(mustInv(t, ctx, host), cfg))
	if err != nil {
		t.Fatal(err)
	}
	handshakes := c.Handshakes()
	res, err := c.Run(ctx, "cd "+DevstackDir+" && stat -c '%a %U %F %n' stack.sh README tools tools/run.sh standin-link localrc && "+
		"readlink standin-link && ls -a . tools && grep -c XENAPI_CONNECTION_URL localrc && id -un")
	if err != nil {
		t.Fatalf("%v %s", err, res.Stderr)
	}
	got := string(res.Stdout)
	// The stack user as domU names it (the simulated guest maps it to
	// root): what the clone's files would be owned by.
	lines := strings.Split(strings.TrimSpace(got), "\n")
	user := lines[len(lines)-1]
	for _, want := range []string{"755 " + user + " regular file stack.sh", "644 " + user + " regular file README",
		"750 " + user + " regular file tools/run.sh", "symbolic link standin-link", "600 " + user + " regular file localrc",
		"\nlib/standin\n", "doomed"} {
		if !strings.Contains(got, want) {
			t.Errorf("domU's %s lacks %q:\n%s", DevstackDir, want, got)
		}
	}
	if strings.Contains(got, ".git") {
		t.Errorf("a .git was uploaded:\n%s", got)
	}
	if b, err := c.Download(ctx, DevstackDir+"/localrc"); err != nil || strings.Contains(string(b), "the-developers-own") {
		t.Errorf("the checkout's own localrc replaced xenlab's (%v)", err)
	}

	// Unchanged: nothing sent.
	co, err := readCheckout(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := syncSource(ctx, c, co)
	if err != nil || !r.Unchanged || r.Files != 0 {
		t.Errorf("second sync of an unchanged checkout: %+v %v, want nothing sent", r, err)
	}

	// One file changed, one removed, one mode changed.
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "doomed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "tools/run.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if done, err := a.Check(ctx); err != nil || done {
		t.Errorf("Check after the checkout changed: %v %v, want not done", done, err)
	}
	if co, err = readCheckout(src); err != nil {
		t.Fatal(err)
	}
	r, err = syncSource(ctx, c, co)
	if err != nil || r.Unchanged || r.Files != 1 || r.Removed != 1 {
		t.Errorf("sync after one change and one removal: %+v %v, want 1 file sent and 1 removed", r, err)
	}
	res, err = c.Run(ctx, "cd "+DevstackDir+" && cat README && stat -c '%a' tools/run.sh && ls")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); !strings.HasPrefix(got, "changed\n700\n") || strings.Contains(got, "doomed") {
		t.Errorf("domU after the second sync:\n%s", got)
	}
	if c.Handshakes() != handshakes {
		t.Errorf("the syncs dialled domU again: %d handshakes, had %d", c.Handshakes(), handshakes)
	}

	// Back to a clone: the upload is not it (Check), and is replaced.
	cfg.Devstack.Source = ""
	if done, err := a.Check(ctx); err != nil || done {
		t.Errorf("Check with repo after an upload: %v %v, want not done", done, err)
	}
	out = nil
	if err := a.putDevstack(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	res, err = c.Run(ctx, "test -d "+DevstackDir+"/.git && test ! -e "+SourceManifest+" && test ! -e "+DevstackDir+"/tools && echo cloned")
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "cloned" {
		t.Errorf("after switching to repo: %v %q %v", err, res.Stdout, out)
	}
	// And to the checkout again: the clone is replaced, .git and all.
	r, err = syncSource(ctx, c, co)
	if err != nil || r.Files != len(co.entries)-countKind(co, 'd')-countKind(co, 'l') {
		t.Errorf("sync over a clone: %+v %v, want every file sent", r, err)
	}
	res, err = c.Run(ctx, "test ! -e "+DevstackDir+"/.git && test -e "+DevstackDir+"/tools/run.sh && echo replaced")
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "replaced" {
		t.Errorf("after switching back to the checkout: %v %q", err, res.Stdout)
	}
}

func countKind(co *checkout, k byte) int {
	n := 0
	for _, e := range co.entries {
		if e.kind == k {
			n++
		}
	}
	return n
}
