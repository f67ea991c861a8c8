package localrc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzFileContent is what file("pw") returns under fuzzFileEnv; no
// diagnostic may show it.
const fuzzFileContent = "s3cr3t-file-content\n"

// fuzzFileEnv is fuzzEnv with a few files: "pw" (fuzzFileContent), "fifo"
// (not a regular file), "big" (over MaxFileSize) and "bin" (not UTF-8).
func fuzzFileEnv() evalEnv {
	e := fuzzEnv()
	e.readFile = func(name string) ([]byte, error) {
		switch filepath.Base(name) {
		case "pw":
			return []byte(fuzzFileContent), nil
		case "fifo":
			return nil, &notRegularError{mode: fs.ModeNamedPipe}
		case "big":
			return nil, &tooLargeError{size: MaxFileSize + 1, limit: MaxFileSize}
		case "bin":
			return []byte{0xff, 0xfe}, nil
		}
		return nil, os.ErrNotExist
	}
	return e
}

// fuzzEnv gives file() and env() fixed, side-effect-free answers.
func fuzzEnv() evalEnv {
	return evalEnv{
		dir: "/nonexistent",
		lookupEnv: func(k string) (string, bool) {
			if k == "UNSET" {
				return "", false
			}
			return "v", true
		},
		readFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
	}
}

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParse: any input yields a Config or a *DiagError with sorted,
// positioned diagnostics; never a panic, a stack overflow or another error;
// and no diagnostic, in either rendering, shows what file() read (unless
// the lab file itself holds it).
func FuzzParse(f *testing.F) {
	addSeeds(f, "testdata/diag/*.hcl")
	addSeeds(f, "testdata/config/*.hcl")
	addSeeds(f, "testdata/import/*.hcl")
	f.Add([]byte(minimalLab))
	for _, s := range fuzzHostileSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := parse("fuzz.hcl", src, fuzzFileEnv())
		if err == nil {
			if cfg == nil || len(cfg.Hosts) == 0 || cfg.Quantum.VLANs.Min < 1 || cfg.Quantum.VLANs.Max > 4094 || cfg.DomU.Disk < MinDisk {
				t.Fatalf("accepted an invalid config: %+v", cfg)
			}
			return
		}
		var de *DiagError
		if !errors.As(err, &de) {
			t.Fatalf("not a *DiagError: %v", err)
		}
		if len(de.Diags) == 0 || err.Error() == "" {
			t.Fatalf("empty DiagError")
		}
		assertSorted(t, de)
		var b bytes.Buffer
		if err := de.Write(&b, false, 0); err != nil {
			t.Fatalf("Write: %v", err)
		}
		content := strings.TrimSpace(fuzzFileContent)
		if !bytes.Contains(src, []byte("s3cr3t")) {
			if out := err.Error() + b.String(); strings.Contains(out, content) {
				t.Fatalf("a diagnostic shows what file() read:\n%s", out)
			}
		}
	})
}

// fuzzHostileSeeds are lab files at and over the loader's bounds, and
// file() of what it refuses.
func fuzzHostileSeeds() []string {
	lab := func(field string) string {
		return "lab = \"l\"\nhost \"h\" {\n  xapi_url = \"https://192.0.2.1\"\n  xapi_password = \"pw\"\n  " + field + "\n}\n"
	}
	return []string{
		"x = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting),
		"x = " + strings.Repeat("[", MaxNesting+1) + strings.Repeat("]", MaxNesting+1),
		"x = " + strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150),
		"x = " + strings.Repeat("{a=", 60) + "1" + strings.Repeat("}", 60),
		"x = " + strings.Repeat("-", 120) + "1",
		"x = " + strings.Repeat("!", 120) + "true",
		"x = " + strings.Repeat(`"${`, 60) + "1" + strings.Repeat(`}"`, 60),
		"x = <<EOT\n" + strings.Repeat("line\n", 300) + "EOT\n",
		`x = "` + strings.Repeat("a$${", 300) + `"`,
		"b {\n" + strings.Repeat("c {\n", 120) + strings.Repeat("}\n", 121),
		lab(`ssh_password = file("pw")`),
		lab(`ssh_password = trimspace(file("fifo"))`),
		lab(`ssh_password = file("big")`),
		lab(`ssh_password = file("bin")`),
		lab(`ssh_host = file("pw")`),
		lab(`ssh_host = "x${file("pw")}y"`),
		lab(`ssh_user = env(trimspace(file("pw")))`),
		"lab = file(\"pw\")\nhost \"h\" {\n xapi_url = trimspace(file(\"pw\"))\n xapi_password = \"a\\u0007b\"\n}\n",
		lab("ssh_password = <<EOT\nhunter2\nEOT"),
		lab(`ssh_password = "unterminated`),
		"domu {\n password = [\"x\"]\n}\n",
		"devstack {\n extra = { ADMIN_PASSWORD = \"p\\n\", \"SERVICE_TOKEN\" = 1, bad-name = 2 }\n}\n",
	}
}

// FuzzImport: any UTF-8 text without NUL imports without error, and the lab
// file it yields parses.
func FuzzImport(f *testing.F) {
	addSeeds(f, "testdata/import/*.localrc")
	for _, s := range []string{
		"A=${B:-${C:-\"x\"}}", "A=(1 2\n3)", "ENABLED_SERVICES+=,q-agt\ndisable_service n-net",
		"if x; then\nA=1\nfi", "A='unterminated", "A=\"unterminated", "A=${B", "A=$(", "OVS_VLAN_RANGES=p:1:2",
		"MGT_DEV_NR=3\nXEN_INT_DEV_NR=0", "VM_BRIDGE_OR_NET_NAME=\"OpenStack Public Network\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, warns, err := Import("localrc", src)
		if !utf8.Valid(src) || bytes.IndexByte(src, 0) >= 0 {
			if err == nil {
				t.Fatalf("binary input accepted")
			}
			return
		}
		if err != nil {
			t.Fatalf("Import failed: %v\ninput:\n%s\noutput:\n%s\nwarnings: %q", err, src, out, warns)
		}
		if _, err := parse("imported.hcl", out, fuzzEnv()); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
	})
}
