package localrc

import (
	"regexp"
	"strings"
	"testing"
)

// TestImportCredentialReferenceStays: a credential assigned another
// variable (SERVICE_PASSWORD=$ADMIN_PASSWORD, XENAPI_PASSWORD="$XENSERVER_PASS")
// is read from that variable's env(), one variable for both, never as a
// second env() of its own called a literal; a variable that feeds a
// credential is a credential too, and a reference broken by a later
// assignment falls back to the credential's own env().
func TestImportCredentialReferenceStays(t *testing.T) {
	src := `ADMIN_PASSWORD=Zq1-admin
SERVICE_PASSWORD=$ADMIN_PASSWORD
XENAPI_PASSWORD="$XENSERVER_PASS"
PW=Zq2-plain
RABBIT_PASSWORD=${PW}
GUEST_PASSWORD=${XENAPI_PASSWORD}
MYSQL_PASSWORD=$DB_PW
DB_PW=Zq3-later
SALT=Zq4-salt
LDAP_PASSWORD=${SALT}x
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	text := string(out) + "\n" + strings.Join(warns, "\n")
	if leaks := regexp.MustCompile(`Zq[0-9]+`).FindAllString(text, -1); len(leaks) > 0 {
		t.Errorf("secret values %q appear in the output:\n%s", leaks, text)
	}
	for _, want := range []string{
		`SERVICE_PASSWORD = env("ADMIN_PASSWORD")`,
		`xapi_password = env("XENSERVER_PASS")`,
		`password      = env("XENSERVER_PASS")`,
		`RABBIT_PASSWORD = env("PW")`,
		`PW               = env("PW")`,
		`MYSQL_PASSWORD   = env("MYSQL_PASSWORD")`,
	} {
		if !strings.Contains(strings.Join(strings.Fields(string(out)), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("lab file lacks %s:\n%s", want, out)
		}
	}
	for _, bad := range []string{`env("SERVICE_PASSWORD")`, `env("XENAPI_PASSWORD")`, `env("RABBIT_PASSWORD")`, `env("GUEST_PASSWORD")`} {
		if strings.Contains(string(out), bad) {
			t.Errorf("lab file reads %s: a reference became a value of its own:\n%s", bad, out)
		}
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{
		`SERVICE_PASSWORD: a reference to $ADMIN_PASSWORD; the lab file reads both from env("ADMIN_PASSWORD")`,
		`XENAPI_PASSWORD: a reference to $XENSERVER_PASS; the lab file reads both from env("XENSERVER_PASS")`,
		`GUEST_PASSWORD: a reference to $XENSERVER_PASS`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no warning %q in\n%s", want, joined)
		}
	}
	if regexp.MustCompile(`(SERVICE|RABBIT)_PASSWORD: [^\n]*literal`).MatchString(joined) {
		t.Errorf("a reference is called a literal:\n%s", joined)
	}
	vars := exportsOf(t, warns)
	for _, name := range []string{"ADMIN_PASSWORD", "XENSERVER_PASS", "PW", "MYSQL_PASSWORD", "DB_PW", "SALT", "LDAP_PASSWORD"} {
		if _, ok := vars[name]; !ok {
			t.Errorf("%s is not among the variables to export: %v", name, vars)
		}
	}
	for _, name := range []string{"SERVICE_PASSWORD", "XENAPI_PASSWORD", "GUEST_PASSWORD", "RABBIT_PASSWORD"} {
		if _, ok := vars[name]; ok {
			t.Errorf("%s is asked for separately, so it can drift from the variable it refers to", name)
		}
	}
	for name := range vars {
		vars[name] = "v-" + name
	}
	cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, out)
	}
	if got := cfg.Hosts[0].XAPIPassword.Reveal(); got != "v-XENSERVER_PASS" {
		t.Errorf("xapi_password = %q", got)
	}
}
