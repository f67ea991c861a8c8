package localrc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func labWithHost(url, extra string) string {
	return `lab = "l"
host "h" {
  xapi_url      = "` + url + `"
  xapi_password = "pw"
` + extra + `}
`
}

// TestValidateWarnsImplausibleHosts: a host that cannot be right (the
// README's placeholder, link-local 169.254.x.x, reserved example domains)
// loads with a warning naming the field; a real address does not.
func TestValidateWarnsImplausibleHosts(t *testing.T) {
	env := testEnv(t.TempDir(), nil)
	for _, c := range []struct{ url, ssh, field string }{
		{"http://address_of_your_xenserver", "", "host.xapi_url"},
		{"http://169.254.0.1", "", "host.xapi_url"},
		{"https://169.254.10.20:443", "", "host.xapi_url"},
		{"https://xenserver.example.com", "", "host.xapi_url"},
		{"https://host.invalid", "", "host.xapi_url"},
		{"https://0.0.0.0", "", "host.xapi_url"},
		{"https://192.168.1.10", "address_of_your_xenserver", "host.ssh_host"},
	} {
		extra := ""
		if c.ssh != "" {
			extra = `  ssh_host = "` + c.ssh + `"` + "\n"
		}
		cfg, err := parse("lab.hcl", []byte(labWithHost(c.url, extra)), env)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "warning: Suspicious "+c.field) {
			t.Errorf("%s %s: warnings %q, want one about %s", c.url, c.ssh, cfg.Warnings, c.field)
		}
	}
	for _, url := range []string{"https://192.168.1.10", "http://127.0.0.1:8080", "https://xenserver1.lab.local", "https://[fd00::5]"} {
		cfg, err := parse("lab.hcl", []byte(labWithHost(url, "")), env)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("%s: unexpected warnings %q", url, cfg.Warnings)
		}
	}
}

// TestMemoryBareNumberMeansMiB: memory = 4096 is refused with the MiB
// reading devstack users mean (OSDOMU_MEM_MB), not "4096GiB"; a disk's
// bare number is GiB (OSDOMU_VDI_GB).
func TestMemoryBareNumberMeansMiB(t *testing.T) {
	env := testEnv(t.TempDir(), nil)
	for _, c := range []struct{ attr, want, not string }{
		{`memory = 4096`, `"4096MiB"`, `4096GiB`},
		{`memory = "3072"`, `"3072MiB"`, `3072GiB`},
		{`disk = 16`, `"16GiB"`, `16MiB`},
	} {
		_, err := parse("lab.hcl", []byte(labWithHost("https://10.0.0.1", "")+"domu {\n  "+c.attr+"\n}\n"), env)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.not) {
			t.Errorf("%s: error %v, want it to suggest %s", c.attr, err, c.want)
		}
	}
}

// TestPasswordTrailingNewlineRefusedWithAHint: a password read with
// file() from a file that ends in a newline would fail every login, so
// the load refuses it with a hint (trimspace) naming the field, never
// quoting the value; trimspace(file()) loads.
func TestPasswordTrailingNewlineRefusedWithAHint(t *testing.T) {
	dir := t.TempDir()
	const pw = "Zq-s3cr3t-pw"
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(dir, map[string]string{"GUEST": pw + "\r\n"})
	src := `lab = "l"
host "h" {
  xapi_url      = "https://10.0.0.1"
  xapi_password = file("pw")
  ssh_password  = trimspace(file("pw"))
}
domu {
  password = env("GUEST")
}
`
	_, err := parse(filepath.Join(dir, "lab.hcl"), []byte(src), env)
	var de *DiagError
	if !errors.As(err, &de) {
		t.Fatalf("a password ending in a newline loaded: %v", err)
	}
	msg := de.Error()
	if !strings.Contains(msg, "xapi_password ends with a line break") || !strings.Contains(msg, "trimspace") ||
		!strings.Contains(msg, "domu.password") || strings.Contains(msg, "ssh_password") {
		t.Errorf("diagnostics = %s", msg)
	}
	if strings.Contains(msg, "Zq-") {
		t.Errorf("a diagnostic quotes the password: %s", msg)
	}
	fixed := strings.Replace(strings.Replace(src, `file("pw")`, `trimspace(file("pw"))`, 1), `env("GUEST")`, `trimspace(env("GUEST"))`, 1)
	if _, err := parse(filepath.Join(dir, "lab.hcl"), []byte(fixed), env); err != nil {
		t.Errorf("trimspace(file()) refused: %v", err)
	}
}
