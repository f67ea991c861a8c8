package localrc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

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
// positioned diagnostics; never a panic or another error.
func FuzzParse(f *testing.F) {
	addSeeds(f, "testdata/diag/*.hcl")
	addSeeds(f, "testdata/config/*.hcl")
	addSeeds(f, "testdata/import/*.hcl")
	f.Add([]byte(minimalLab))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := parse("fuzz.hcl", src, fuzzEnv())
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
	})
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
