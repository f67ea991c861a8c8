// Package rendertest helps tests check the reports xenlab writes against
// the schemas their consumers validate with.
package rendertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// SchemaEnv names the environment variable that may point at junit-10.xsd.
const SchemaEnv = "XENLAB_JUNIT_XSD"

// JUnitSchema returns the path of junit-10.xsd, the schema Jenkins' xunit
// plugin validates JUnit reports with: $XENLAB_JUNIT_XSD, else
// shared/schemas/junit-10.xsd next to the repository's root (../shared, as
// CI has it) or next to one of its parents (a git worktree under the
// project's directory), else the copy kept beside this file
// (testdata/junit-10.xsd, MIT, from jenkinsci/xunit-plugin, header kept),
// so a fresh clone validates too. It returns "" and the reason when there
// is none.
func JUnitSchema() (string, string) {
	p, why := sharedSchema()
	if p != "" || os.Getenv(SchemaEnv) != "" {
		return p, why
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		own := filepath.Join(filepath.Dir(file), "testdata", "junit-10.xsd")
		if _, err := os.Stat(own); err == nil {
			return own, ""
		}
	}
	return "", why
}

// sharedSchema is $XENLAB_JUNIT_XSD or ../shared/schemas/junit-10.xsd.
func sharedSchema() (string, string) {
	if p := os.Getenv(SchemaEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", SchemaEnv + ": " + err.Error()
		}
		return p, ""
	}
	root, err := repoRoot()
	if err != nil {
		return "", err.Error()
	}
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "schemas", "junit-10.xsd")
		if _, err := os.Stat(p); err == nil {
			return p, ""
		}
		if dir == filepath.Dir(dir) {
			return "", "no shared/schemas/junit-10.xsd beside the repository " + root + " or its parents, and " + SchemaEnv + " is not set"
		}
	}
}

// repoRoot is the directory of go.mod above this source file (a test may
// have changed its working directory), else above the working directory.
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
			if dir == filepath.Dir(dir) {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	return "", os.ErrNotExist
}

// ValidateJUnit runs `xmllint --noout --schema junit-10.xsd` on each file
// and fails the test with xmllint's complaint if one does not validate.
// When xmllint (Debian's libxml2-utils) or the schema is absent it skips
// this one assertion, saying why in the test's log, and returns: the test
// goes on with its other checks.
func ValidateJUnit(t testing.TB, files ...string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Log("SKIPPED ASSERTION: the JUnit report is not validated against junit-10.xsd: xmllint not found (Debian: apt-get install libxml2-utils)")
		return
	}
	xsd, why := JUnitSchema()
	if xsd == "" {
		t.Log("SKIPPED ASSERTION: the JUnit report is not validated: junit-10.xsd not found: " + why)
		return
	}
	for _, f := range files {
		out, err := exec.Command(xmllint, "--noout", "--schema", xsd, f).CombinedOutput()
		if err != nil {
			data, _ := os.ReadFile(f)
			t.Errorf("%s does not validate against %s: %v\n%s\n%s", f, xsd, err, out, data)
		}
	}
}
