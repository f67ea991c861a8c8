package templates

import (
	"encoding/base64"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestHostKeyLateCommand: the preseed's late_command installs the
// first-boot job as written here (its two files, base64-encoded, decode to
// the script and the upstart job), the script is valid sh that reads the
// key from xenstore's vm-data and installs it where sshd reads it, and the
// rendered preseed carries it as one debconf answer.
func TestHostKeyLateCommand(t *testing.T) {
	cmd := HostKeyLateCommand()
	decoded := lateCommandFiles(t, cmd)
	if len(decoded) != 2 || decoded[0] != hostKeyScript || decoded[1] != hostKeyUpstartJob {
		t.Fatalf("late_command installs %q", decoded)
	}
	for _, want := range []string{"xenstore-read " + HostKeyXenstoreKey, "base64 -d > " + HostKeyFile + ".new", "mv " + HostKeyFile + ".new " + HostKeyFile} {
		if !strings.Contains(hostKeyScript, want) {
			t.Errorf("the script lacks %q", want)
		}
	}
	if !strings.Contains(hostKeyUpstartJob, "start on starting ssh") {
		t.Error("the job does not run before ssh starts")
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		c := exec.Command(sh, "-n")
		c.Stdin = strings.NewReader(hostKeyScript)
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v: %s", err, out)
		}
	}
	out, err := RenderPreseed(Preseed{Release: "precise", Arch: "amd64", Hostname: "h", Domain: "d", MirrorHost: "archive.ubuntu.com", MirrorDir: "/ubuntu"})
	if err != nil {
		t.Fatal(err)
	}
	answers, err := ParsePreseed("rendered", out)
	if err != nil {
		t.Fatal(err)
	}
	if a := answers["preseed/late_command"]; a.Val != LateCommand() || !strings.HasPrefix(a.Val, cmd+" && ") {
		t.Errorf("preseed/late_command = %q, want the jobs' command", a.Val)
	}
	if a := answers["pkgsel/include"]; !strings.Contains(a.Val, "xenstore-utils") {
		t.Errorf("pkgsel/include = %q: no xenstore-read in the guest", a.Val)
	}
}

// lateCommandFiles checks that a late_command part is one line holding one
// quoted shell script, and returns the files it writes (base64-decoded),
// in order.
func lateCommandFiles(t *testing.T, cmd string) []string {
	t.Helper()
	if strings.ContainsAny(cmd, "\n\r") || strings.Count(cmd, "'") != 2 {
		t.Fatalf("late_command is not one line with one quoted shell script: %q", cmd)
	}
	var decoded []string
	for _, m := range regexp.MustCompile(`echo ([A-Za-z0-9+/=]+) \| base64 -d`).FindAllStringSubmatch(cmd, -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, string(b))
	}
	return decoded
}
