package localrc

import (
	"regexp"
	"strings"
	"testing"
)

// TestImportSecretsReadFromEnv: every credential-named pass-through setting
// becomes env("NAME") with a warning naming it, and a value that used one
// keeps the reference for domU's localrc to expand.
func TestImportSecretsReadFromEnv(t *testing.T) {
	src := `MYSQL_PASSWORD=supersecret1
ADMIN_PASSWORD=supersecret2
SERVICE_TOKEN=supersecret3
RABBIT_PASSWORD=supersecret4
SERVICE_PASSWORD=$ADMIN_PASSWORD
EXTRA_OPTS=(foo=$MYSQL_PASSWORD bar)
DB_URL="mysql://root:${MYSQL_PASSWORD}@localhost"
AUTH=${ADMIN_PASSWORD:+--with-auth}
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"MYSQL_PASSWORD", "ADMIN_PASSWORD", "SERVICE_TOKEN", "RABBIT_PASSWORD"} {
		if !regexp.MustCompile(`(?m)^\s*` + name + `\s*= env\("` + name + `"\)$`).Match(out) {
			t.Errorf("%s is not read with env():\n%s", name, out)
		}
		want := name + ": the literal was dropped; export " + name + " before validate/up"
		if !strings.Contains(strings.Join(warns, "\n"), want) {
			t.Errorf("no warning %q in %q", want, warns)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*SERVICE_PASSWORD\s*= env\("ADMIN_PASSWORD"\)$`).Match(out) {
		t.Errorf("SERVICE_PASSWORD=$ADMIN_PASSWORD is not read from ADMIN_PASSWORD's env():\n%s", out)
	}
	if strings.Contains(string(out), "supersecret") || strings.Contains(strings.Join(warns, "\n"), "supersecret") {
		t.Fatalf("a secret leaked:\n%s\n%q", out, warns)
	}
	vars := exportsOf(t, warns)
	for name := range vars {
		vars[name] = "from-env-" + name
	}
	cfg, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars))
	if err != nil {
		t.Fatalf("imported file does not parse with the summary's variables: %v\n%s", err, out)
	}
	extra := map[string]Setting{}
	for _, s := range cfg.Devstack.Extra {
		extra[s.Name] = s
	}
	if s := extra["MYSQL_PASSWORD"]; s.Value != "from-env-MYSQL_PASSWORD" || !s.Sensitive {
		t.Errorf("MYSQL_PASSWORD = %+v", s)
	}
	if s := extra["EXTRA_OPTS"]; strings.Join(s.Array, "|") != "foo=${MYSQL_PASSWORD}|bar" {
		t.Errorf("EXTRA_OPTS = %q, want the reference kept", s.Array)
	}
	if s := extra["DB_URL"]; s.Value != "mysql://root:${MYSQL_PASSWORD}@localhost" {
		t.Errorf("DB_URL = %q", s.Value)
	}
	if s := extra["AUTH"]; s.Value != "--with-auth" {
		t.Errorf("AUTH = %q: ${NAME:+word} yields word", s.Value)
	}
}

// TestImportWarningsHideSecretConstructs: a warning about a construct that
// mentions a credential, or about a credential's own setting, does not quote
// the construct.
func TestImportWarningsHideSecretConstructs(t *testing.T) {
	cases := []struct{ src, warn string }{
		{"Q_X=${MYSQL_PASSWORD:?s3cr3t}", "Q_X uses a construct (not shown"},
		{"Q_X=${MYSQL_PASSWORD:-$(echo s3cr3t)}", "Q_X uses a construct (not shown"},
		{"MYSQL_PASSWORD=`echo s3cr3t`", `reads MYSQL_PASSWORD with env("MYSQL_PASSWORD")`},
		{"if [ \"$ADMIN_PASSWORD\" = s3cr3t ]; then\nA=1\nfi", "a block that mentions a credential (not shown)"},
		{"[[ -n x ]] && X=${ADMIN_PASSWORD:-s3cr3t}", "mentions a credential (not shown)"},
		{"A=1\nmysql -uroot --password s3cr3t", "command not translated: a command that mentions a credential"},
		{"X=1 ADMIN_PASSWORD=s3cr3t make", "temporary variables is not translated: a command that mentions"},
		{"enable_service ${SERVICE_TOKEN:?s3cr3t}", "enable_service argument that mentions a credential"},
		{"if true; then\nX=${ADMIN_PASSWORD:-s3cr3t}\nfi", "assignment inside a conditional, loop or function not translated: a command that mentions"},
	}
	for _, c := range cases {
		_, warns, err := Import("localrc", []byte(c.src))
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		joined := strings.Join(warns, "\n")
		if strings.Contains(joined, "s3cr3t") {
			t.Errorf("%q: a warning quotes the secret:\n%s", c.src, joined)
		}
		if !strings.Contains(joined, c.warn) {
			t.Errorf("%q: warnings lack %q:\n%s", c.src, c.warn, joined)
		}
	}
}

// TestImportUnusableURLWarnsOnce: a set but unusable XENAPI_CONNECTION_URL
// gets one warning, not also "not set", and credentials in it are not shown.
func TestImportUnusableURLWarnsOnce(t *testing.T) {
	for _, src := range []string{
		"XENAPI_CONNECTION_URL=https://root:s3cr3t@10.0.0.1",
		"XENAPI_CONNECTION_URL=http://root:s3cr3t@",
		"XENAPI_CONNECTION_URL=ftp://10.0.0.1",
		"XENAPI_CONNECTION_URL=http://$XENSERVER_HOST",
		"XENAPI_CONNECTION_URL=(http://a http://b)",
	} {
		out, warns, err := Import("localrc", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		n := 0
		for _, w := range warns {
			if strings.Contains(w, "XENAPI_CONNECTION_URL") || strings.Contains(w, "xapi_url") {
				n++
			}
		}
		joined := strings.Join(warns, "\n")
		if n != 1 || strings.Contains(joined, "XENAPI_CONNECTION_URL not set") {
			t.Errorf("%q: want exactly one warning about the URL, got:\n%s", src, joined)
		}
		if strings.Contains(joined, "s3cr3t") || strings.Contains(string(out), "s3cr3t") {
			t.Errorf("%q: the URL's password leaked:\n%s\n%s", src, joined, out)
		}
		if !strings.Contains(string(out), `xapi_url      = "http://169.254.0.1"`) {
			t.Errorf("%q: want devstack's default URL:\n%s", src, out)
		}
	}
}

// TestImportExportWithExtraWords: "export NAME value" is reported, without
// the value; "export NAME" alone stays silent.
func TestImportExportWithExtraWords(t *testing.T) {
	_, warns, err := Import("localrc", []byte("export RABBIT_PASSWORD s3cr3t\n"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	if !strings.Contains(joined, "localrc:1: RABBIT_PASSWORD:") || strings.Contains(joined, "s3cr3t") {
		t.Errorf("want a line-1 warning naming RABBIT_PASSWORD without its value:\n%s", joined)
	}
	_, warns, err = Import("localrc", []byte("A=1\nexport A\ndeclare -x B\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		if strings.Contains(w, "localrc:2") || strings.Contains(w, "localrc:3") {
			t.Errorf("export of a name alone warned: %q", w)
		}
	}
}

// TestImportSummaryNamesExports: the last warning names every variable the
// lab file reads with env(), once, and exactly those make it parse.
func TestImportSummaryNamesExports(t *testing.T) {
	src := "GUEST_PASSWORD=a\nMYSQL_PASSWORD=b\nSERVICE_TOKEN=c\nX=1\n"
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "localrc: before `xenlab validate`: export XENAPI_PASSWORD, GUEST_PASSWORD, MYSQL_PASSWORD, SERVICE_TOKEN"
	if got := warns[len(warns)-1]; got != want {
		t.Fatalf("last warning = %q, want %q", got, want)
	}
	vars := exportsOf(t, warns)
	if _, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars)); err != nil {
		t.Fatalf("does not parse with the summary's variables: %v", err)
	}
	delete(vars, "SERVICE_TOKEN")
	if _, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars)); err == nil || !strings.Contains(err.Error(), "SERVICE_TOKEN") {
		t.Errorf("without SERVICE_TOKEN: err = %v, want it named", err)
	}
}

// TestImportNeverLeaksSecrets runs a localrc full of credentials, written in
// every form the importer reads or rejects, and checks that none of their
// distinctive values reaches the lab file or any warning.
func TestImportNeverLeaksSecrets(t *testing.T) {
	src := `[[local|localrc]]
MYSQL_PASSWORD=Zq1-mysql-value
export ADMIN_PASSWORD='Zq2-admin value'
SERVICE_TOKEN="Zq3-token"
RABBIT_PASSWORD=${RABBIT_PASSWORD:-Zq4-rabbit}
SERVICE_PASSWORD=$ADMIN_PASSWORD
DATABASE_PASSWORD+=Zq5-db
SWIFT_HASH_KEY=Zq6-swift
declare -x HORIZON_SECRET=Zq7-horizon
XENAPI_PASSWORD=Zq8-xenapi
GUEST_PASSWORD="Zq9-guest"
XENAPI_CONNECTION_URL=https://root:Zq10-url@10.0.0.1
EXTRA_OPTS=(foo=$MYSQL_PASSWORD "bar=${SERVICE_TOKEN}")
GREETING="admin is ${ADMIN_PASSWORD} and ${UNSET_PASSWORD:-Zq11-default}"
Q_X=${MYSQL_PASSWORD:?Zq12-question}
Q_Y=${NOVA_PASSWORD:=Zq13-assigned}
GUEST_NAME=$ADMIN_PASSWORD
OSDOMU_MEM_MB=$SERVICE_TOKEN
enable_service ${SERVICE_TOKEN:-Zq14-svc}
export RABBIT_PASSWORD Zq15-export
CINDER_PASSWORD=(Zq16-a Zq17-b)
KEYSTONE_TOKEN=$(echo Zq18-cmd)
[[ -n x ]] && ADMIN_PASSWORD=Zq19-and
if [ "$ADMIN_PASSWORD" = Zq20-if ]; then
  SERVICE_PASSWORD=Zq21-inside
fi
X=1 ADMIN_PASSWORD=Zq22-temp make
mysql --password Zq23-cmdline
UBUNTU_INST_HTTP_PROXY=http://proxyuser:Zq25-proxy@10.0.0.1:3128
[[post-config|$NOVA_CONF]]
[DEFAULT]
admin_password = Zq24-ini
`
	out, warns, err := Import("localrc", []byte(src))
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, out)
	}
	text := string(out) + "\n" + strings.Join(warns, "\n")
	if leaks := regexp.MustCompile(`Zq[0-9]+`).FindAllString(text, -1); len(leaks) > 0 {
		t.Errorf("secret values %q appear in the output:\n%s", leaks, text)
	}
	// The secrets are still asked for: each credential the file sets is
	// read from the environment.
	vars := exportsOf(t, warns)
	for _, name := range []string{"XENAPI_PASSWORD", "GUEST_PASSWORD", "MYSQL_PASSWORD", "ADMIN_PASSWORD", "SERVICE_TOKEN", "RABBIT_PASSWORD", "DATABASE_PASSWORD", "SWIFT_HASH_KEY", "HORIZON_SECRET", "NOVA_PASSWORD", "CINDER_PASSWORD", "KEYSTONE_TOKEN"} {
		if _, ok := vars[name]; !ok {
			t.Errorf("%s is not among the variables to export: %v", name, vars)
		}
	}
	if _, err := parse("lab.hcl", out, testEnv(t.TempDir(), vars)); err != nil {
		t.Errorf("does not parse: %v\n%s", err, out)
	}
}
