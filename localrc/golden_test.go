package localrc

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testEnv is the environment golden tests evaluate lab files in: fixed
// variables, real files under dir.
func testEnv(dir string, vars map[string]string) evalEnv {
	return evalEnv{
		dir: dir,
		lookupEnv: func(k string) (string, bool) {
			v, ok := vars[k]
			return v, ok
		},
		readFile: os.ReadFile,
	}
}

// golden compares got with the golden file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./localrc -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test ./localrc -update rewrites it)\n--- got\n%s\n--- want\n%s", filepath.Base(path), got, want)
	}
}
