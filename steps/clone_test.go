package steps

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/localrc"
)

// TestCloneInProgressIsNotTheTemplate: a clone of the lab's own template
// that a kill cut short carries the template's tags (role template); the
// record names it, so it is never taken for the template. Templates
// tagged as domU, or with the lab's tag and no role, are half-made
// clones; the template and the template build's VMs are not.
func TestCloneInProgressIsNotTheTemplate(t *testing.T) {
	lab := &localrc.Config{Lab: "demo"}
	lab.DomU.TemplateFrom = localrc.TemplateInstall
	lab.DomU.Name = "DevStackOSDomU"
	clone := cloneName(lab)
	tagged := func(role string) map[string]string { return tags("demo", role) }
	inv := &hosts.Snapshot{
		Pools: map[xapi.Ref]xapi.PoolRecord{"OpaqueRef:p": {OtherConfig: map[string]string{cloneKeyPrefix + "demo": clone}}},
		VMs: map[xapi.Ref]xapi.VMRecord{
			"OpaqueRef:a": {NameLabel: clone, IsATemplate: true, OtherConfig: tagged(RoleTemplate)},
			"OpaqueRef:b": {NameLabel: "tpl", IsATemplate: true, OtherConfig: tagged(RoleTemplate)},
			"OpaqueRef:c": {NameLabel: "DevStackOSDomU", IsATemplate: true, OtherConfig: tagged(RoleDomU)},
			"OpaqueRef:d": {NameLabel: "DevStackOSDomU", IsATemplate: true, OtherConfig: map[string]string{TagLab: "demo"}},
			"OpaqueRef:e": {NameLabel: "snap", IsATemplate: true, IsASnapshot: true, OtherConfig: tagged(RoleDomU)},
			"OpaqueRef:f": {NameLabel: "other lab's", IsATemplate: true, OtherConfig: tags("other", RoleDomU)},
		},
	}
	if got, err := findTemplate(inv, lab); err != nil || got != "OpaqueRef:b" {
		t.Errorf("findTemplate = %s (%v), want the template, not the clone in progress", got, err)
	}
	if _, name := cloneInProgress(inv, "demo"); name != clone {
		t.Errorf("cloneInProgress = %q, want %q", name, clone)
	}
	if got := clonesOf(inv, clone); !slices.Equal(got, []xapi.Ref{"OpaqueRef:a"}) {
		t.Errorf("clonesOf = %v", got)
	}
	if got := halfClones(inv, "demo"); !slices.Equal(got, []xapi.Ref{"OpaqueRef:c", "OpaqueRef:d"}) {
		t.Errorf("halfClones = %v, want the templates tagged domu or with no role", got)
	}
	if a, b := cloneName(lab), cloneName(lab); a == b {
		t.Errorf("two clone names alike: %q", a)
	}
}

// TestRedactRepo: git's output and a failed clone's error name the
// repository URL inside a line (or with a "/" added); its password goes,
// the rest of the line stays.
func TestRedactRepo(t *testing.T) {
	repo := "https://dev:s3cret-pw@git.example/openstack/devstack"
	for _, tc := range []struct{ in, want string }{
		{"xenlab simulator: nothing was cloned from " + repo + ": stand-in",
			"xenlab simulator: nothing was cloned from https://dev:xxxxx@git.example/openstack/devstack: stand-in"},
		{"fatal: repository '" + repo + "/' not found", "fatal: repository 'https://dev:xxxxx@git.example/openstack/devstack/' not found"},
		{"Cloning into '/opt/stack/devstack'...", "Cloning into '/opt/stack/devstack'..."},
	} {
		if got := redactRepo(tc.in, repo); got != tc.want {
			t.Errorf("redactRepo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if in := "from https://git.example/devstack"; redactRepo(in, "https://git.example/devstack") != in {
		t.Errorf("a URL without a password changed")
	}
	err := repoRedacted{err: fmt.Errorf("ssh domU: stderr: %s", repo), repo: repo}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error still holds the password: %v", err)
	}
}

// TestSplitRepoPassword: the URL git is given keeps the user and loses
// only the password.
func TestSplitRepoPassword(t *testing.T) {
	for _, tc := range []struct{ in, url, pw string }{
		{"https://dev:s3cret@git.example/openstack/devstack", "https://dev@git.example/openstack/devstack", "s3cret"},
		{"https://dev:p%40ss@git.example:8443/devstack.git", "https://dev@git.example:8443/devstack.git", "p@ss"},
		{"https://dev@git.example/devstack", "https://dev@git.example/devstack", ""},
		{"https://opendev.org/openstack/devstack", "https://opendev.org/openstack/devstack", ""},
		{"https://dev:pw@git.example", "https://dev@git.example", "pw"},
		{"/srv/git/devstack", "/srv/git/devstack", ""},
	} {
		if u, pw := splitRepoPassword(tc.in); u != tc.url || pw != tc.pw {
			t.Errorf("splitRepoPassword(%q) = %q, %q; want %q, %q", tc.in, u, pw, tc.url, tc.pw)
		}
	}
}

// TestClonePasswordStaysOutOfGitsArguments runs cloneScript with real
// git against a real git server (git http-backend behind HTTP basic
// authentication): the clone succeeds with the password from the URL,
// no git process is given the password in its arguments, the checkout's
// .git/config does not hold it, GIT_ASKPASS's script is gone afterwards,
// and a second run keeps the checkout.
func TestClonePasswordStaysOutOfGitsArguments(t *testing.T) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("needs git (Debian's git package)")
	}
	execPath, err := exec.Command(gitPath, "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("needs git-http-backend (Debian's git package): %v", err)
	}
	const user, password = "dev", "clone-pw-'$x y"
	root := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitPath, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+root, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	// The repository served: devstack.git with a branch havana-eol.
	work := filepath.Join(root, "work")
	git(root, "init", "-q", "-b", "havana-eol", work)
	if err := os.WriteFile(filepath.Join(work, "stack.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	git(work, "add", "stack.sh")
	git(work, "commit", "-q", "-m", "stack.sh")
	served := filepath.Join(root, "served")
	git(root, "clone", "-q", "--bare", work, filepath.Join(served, "devstack.git"))

	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + served, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL + "/devstack.git")
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	repo := u.String()
	escaped := strings.TrimPrefix(u.User.String(), user+":")

	// git on PATH is a shim that records every git's arguments.
	bin := filepath.Join(root, "bin")
	argLog := filepath.Join(root, "git-args")
	shim := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + ssh.ShellQuote(argLog) + "\nexec " + ssh.ShellQuote(gitPath) + " \"$@\"\n"
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	p := clonePaths{Dir: filepath.Join(root, "stack", "devstack"), Home: filepath.Join(root, "stack"), Manifest: filepath.Join(root, "stack", "manifest")}
	run := func() string {
		t.Helper()
		cmd := exec.Command("sh", "-s")
		cmd.Stdin = strings.NewReader(cloneScript(p, repo, "havana-eol") + "\n")
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + root, "TMPDIR=" + tmp, "GIT_CONFIG_NOSYSTEM=1"}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("clone script: %v\n%s", err, stderr.String())
		}
		return strings.TrimSpace(stdout.String())
	}
	if out := run(); out != "cloned" {
		t.Fatalf("first run printed %q, want cloned", out)
	}
	if _, err := os.Stat(filepath.Join(p.Dir, "stack.sh")); err != nil {
		t.Errorf("the checkout: %v", err)
	}
	if out := run(); out != "" {
		t.Errorf("second run printed %q: the matching checkout was not kept", out)
	}
	args, err := os.ReadFile(argLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(args), "clone -q -b havana-eol http://dev@") {
		t.Errorf("git was not given the URL without the password:\n%s", args)
	}
	config, err := os.ReadFile(filepath.Join(p.Dir, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"git's arguments": string(args), ".git/config": string(config)} {
		if strings.Contains(text, password) || strings.Contains(text, escaped) {
			t.Errorf("%s hold the password:\n%s", what, text)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the askpass script was left in TMPDIR: %v", left)
	}
}
