package collect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xenlab/secret"
)

// TestWriteBounds: a file over the per-file limit keeps its end from a
// line start (a secret is never cut in two and left half visible); past
// the total limit files are cut, then left out, each noted; secrets are
// scrubbed before anything is measured or written.
func TestWriteBounds(t *testing.T) {
	const pw = "Qx-sekrit-77"
	c := &collector{dir: t.TempDir(), opts: Options{MaxFile: 40, MaxTotal: 50, Timeout: time.Second},
		secrets: []secret.Secret{secret.New(pw)}}
	c.write("a.log", []byte("line one is long enough\nsecond "+pw+"\nthird\n"))
	c.write("b.log", []byte("0123456789\n0123456789\n0123456789\n0123456789\n"))
	c.write("c.log", []byte("more\n"))

	a, _ := os.ReadFile(filepath.Join(c.dir, "a.log"))
	if string(a) != "second "+secret.Redacted+"\nthird\n" {
		t.Errorf("a.log = %q, want its last whole lines, scrubbed", a)
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "b.log"))
	if int64(len(a)+len(b)) > c.opts.MaxTotal || !strings.HasSuffix(string(b), "0123456789\n") || len(b)%11 != 0 {
		t.Errorf("b.log = %q: over the total or not whole lines", b)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "c.log")); err == nil {
		t.Errorf("c.log was written past the total limit")
	}
	notes := strings.Join(c.notes, "\n")
	for _, want := range []string{"a.log: only its last", "b.log: only its last 22 bytes (the total size limit)", "c.log: left out (the total size limit"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if err := c.manifest(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(filepath.Join(c.dir, ManifestName))
	if !strings.Contains(string(m), "a.log (") || !strings.Contains(string(m), "c.log: left out") {
		t.Errorf("MANIFEST:\n%s", m)
	}
}

// TestPrepareKeepsWhatIsNotACollection: an earlier collection (a directory
// with a MANIFEST) is replaced; a directory without one is only added to.
func TestPrepareKeepsWhatIsNotACollection(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	os.WriteFile(mine, []byte("x"), 0o644)
	c := &collector{dir: dir}
	if err := c.prepare(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a file in a directory that is no collection was removed")
	}
	os.WriteFile(filepath.Join(dir, ManifestName), nil, 0o644)
	if err := c.prepare(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); err == nil {
		t.Errorf("an earlier collection was not replaced")
	}
}
