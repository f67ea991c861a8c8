package collect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
	"xenlab/secret/secrettest"
)

// TestCollectedLogsScrubEveryEncoding: a domU log that holds a secret of
// the lab (domU's password, or a credential passed through devstack.extra)
// in any encoding secrettest knows, and a failed step whose output and
// error hold them, are written to the collected files with none left.
func TestCollectedLogsScrubEveryEncoding(t *testing.T) {
	const pw, rabbit = "Zq7-domU-pass/w+rd=42", "Zq8-rabbit-&-secret"
	lab := &localrc.Config{DomU: localrc.DomU{Password: secret.New(pw)},
		Devstack: localrc.Devstack{Extra: []localrc.Setting{{Name: "RABBIT_PASSWORD", Value: rabbit, Sensitive: true}}}}
	for _, s := range []string{pw, rabbit} {
		echoes := secrettest.Echoes(s)
		var lines []string
		for _, e := range echoes {
			lines = append(lines, e.Text)
		}
		c := &collector{dir: t.TempDir(), opts: Options{}.withDefaults(), secrets: Secrets(lab)}
		c.write("domu/stack.log", []byte(strings.Join(lines, "\n")+"\n"))
		c.stepOutput(&provision.Report{Steps: []provision.StepResult{{Name: "agents", State: provision.StateFailed,
			Err: errors.New(strings.Join(lines, " | ")), Output: lines}}}, "xs1", false)
		for _, f := range []string{"domu/stack.log", "xenlab-steps.log"} {
			b, err := os.ReadFile(filepath.Join(c.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if left := secrettest.Survivors(string(b), s, echoes); len(left) > 0 {
				t.Errorf("%s still holds %q:\n%s", f, left, b)
			}
		}
	}
}
