package localrc

import (
	"os"
	"testing"
)

// BenchmarkParse loads the full example lab file (decode, defaults, validation).
func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("testdata/config/full.hcl")
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv("testdata/config", map[string]string{"XENLAB_TEST_PASSWORD": "x"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse("full.hcl", src, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport converts a realistic localrc, including the self-check parse.
func BenchmarkImport(b *testing.B) {
	src, err := os.ReadFile("testdata/import/havana-xenrc.localrc")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Import("havana-xenrc.localrc", src); err != nil {
			b.Fatal(err)
		}
	}
}
