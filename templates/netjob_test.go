package templates

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInterfacesLateCommand: the late_command installs the interfaces job
// as written here, the job runs before networking, and the script (run
// with a stand-in xenstore-read) installs the file xenstore carries and
// leaves the disk's own when xenstore has none.
func TestInterfacesLateCommand(t *testing.T) {
	cmd := InterfacesLateCommand()
	decoded := lateCommandFiles(t, cmd)
	if len(decoded) != 2 || decoded[0] != interfacesScript || decoded[1] != interfacesUpstartJob {
		t.Fatalf("late_command installs %q", decoded)
	}
	for _, want := range []string{"start on starting networking\n", "task\n"} {
		if !strings.Contains(interfacesUpstartJob, want) {
			t.Errorf("the job lacks %q", want)
		}
	}
	if !strings.Contains(LateCommand(), cmd) || !strings.Contains(LateCommand(), HostKeyLateCommand()) {
		t.Error("the preseed's late_command lacks a job")
	}

	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tool := range []string{"base64", "cmp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	// The script, its paths moved under a directory, with a
	// xenstore-read that answers from a file.
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	etc := filepath.Join(dir, "etc", "network")
	for _, d := range []string{bin, etc, filepath.Join(dir, "proc", "xen")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "proc", "xen", "xenbus"), nil, 0o644)
	store := filepath.Join(dir, "xenstore")
	fake := "#!/bin/sh\n[ \"$1\" = " + InterfacesXenstoreKey + " ] && [ -s " + store + " ] && cat " + store + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xenstore-read"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(interfacesScript, interfacesFile, filepath.Join(etc, "interfaces"))
	script = strings.ReplaceAll(script, "/proc/xen", filepath.Join(dir, "proc", "xen"))
	run := func() {
		t.Helper()
		c := exec.Command(sh, "-c", script)
		c.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("script: %v: %s", err, out)
		}
	}
	own := "auto eth0\niface eth0 inet dhcp\n"
	os.WriteFile(filepath.Join(etc, "interfaces"), []byte(own), 0o644)
	run() // no key: the disk's file stays
	if b, _ := os.ReadFile(filepath.Join(etc, "interfaces")); string(b) != own {
		t.Fatalf("without the key the file became %q", b)
	}
	want := "auto eth1\niface eth1 inet static\n    address 10.0.0.2\n    netmask 255.255.255.0\n"
	os.WriteFile(store, []byte(base64.StdEncoding.EncodeToString([]byte(want))), 0o644)
	run()
	b, err := os.ReadFile(filepath.Join(etc, "interfaces"))
	if err != nil || string(b) != want {
		t.Fatalf("with the key the file is %q (%v), want %q", b, err, want)
	}
	if _, err := os.Stat(filepath.Join(etc, "interfaces.xenlab")); err == nil {
		t.Error("the script left its temporary file")
	}
	run() // again, the same file: nothing changes
	if b, _ := os.ReadFile(filepath.Join(etc, "interfaces")); string(b) != want {
		t.Fatalf("a second run made %q", b)
	}
}
