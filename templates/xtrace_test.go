package templates

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"xenlab/localrc"
)

// TestCredentialsNotTraced: devstack runs under xtrace. domU's localrc,
// sourced with xtrace on, traces none of its settings (they hold or refer
// to credentials), and xtrace is on again after it; and xenlab's wrapper
// of stack.sh replaces every credential of localrc in stack.sh's output
// (a trace of devstack's iniset ... xenapi_connection_password, as
// havana-eol's lib/neutron_plugins/openvswitch_agent does) before the log
// and xenlab see it, while stack.sh's exit status still decides.
func TestCredentialsNotTraced(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	l := sampleLocalrc()
	l.XAPIPassword = "Zq-xapi-secret"
	l.Extra = append(l.Extra, localrc.Setting{Name: "RABBIT_PASSWORD", Value: "Zq'rabbit \"pw\"", Sensitive: true},
		localrc.Setting{Name: "DB_URL", Value: "mysql://root:${RABBIT_PASSWORD}@db/nova", Sensitive: true})
	lrc, err := RenderLocalrc(l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "localrc"), lrc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bash, "-c", `set -o xtrace; source "$1"; [[ -o xtrace ]] && echo "xtrace on again"`, "x", filepath.Join(dir, "localrc")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Contains(string(out), "Zq") || !strings.Contains(string(out), "xtrace on again") {
		t.Errorf("sourcing localrc under xtrace:\n%s", out)
	}

	for _, exit := range []int{0, 3} {
		stack := "#!/bin/bash\nset -o xtrace\nsource ./localrc\niniset() { :; }\n" +
			`iniset /etc/neutron/rootwrap.conf xenapi xenapi_connection_password "$XAPI_PW_COPY"` + "\n" +
			`echo "db: $DB_URL, rabbit: $RABBIT_PASSWORD"` + "\nexit " + strconv.Itoa(exit) + "\n"
		// The copy of the password under a name that is no credential's
		// is what devstack's trace of iniset shows: the value, not the name.
		stack = strings.Replace(stack, "source ./localrc\n", "source ./localrc\nXAPI_PW_COPY=$XENAPI_PASSWORD\n", 1)
		if err := os.WriteFile(filepath.Join(dir, "stack.sh"), []byte(stack), 0o755); err != nil {
			t.Fatal(err)
		}
		logf, marker := filepath.Join(dir, "logs", "stack.log"), filepath.Join(dir, "done")
		w, err := RenderWrapper(Wrapper{Dir: dir, Log: logf, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		wp := filepath.Join(dir, "xenlab-stack.sh")
		if err := os.WriteFile(wp, w, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bash, wp)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != exit {
			t.Fatalf("wrapper exit %d (%v), want %d:\n%s", code, err, exit, out)
		}
		log, _ := os.ReadFile(logf)
		for what, text := range map[string]string{"output": string(out), "log": string(log)} {
			if strings.Contains(text, "Zq") {
				t.Errorf("stack.sh exit %d: a credential in the %s:\n%s", exit, what, text)
			}
			if !strings.Contains(text, "xenapi_connection_password <redacted>") || !strings.Contains(text, "db: mysql://root:<redacted>@db/nova, rabbit: <redacted>") {
				t.Errorf("stack.sh exit %d: the %s lacks the redacted lines:\n%s", exit, what, text)
			}
		}
		if _, err := os.Stat(marker); (err == nil) != (exit == 0) {
			t.Errorf("stack.sh exit %d: marker present = %v", exit, err == nil)
		}
	}
}
