package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() Preseed {
	return Preseed{Release: "precise", Arch: "amd64", Hostname: "DevStackOSDomU", Domain: "lab",
		MirrorHost: "archive.ubuntu.com", MirrorDir: "/ubuntu", Proxy: "http://proxy:3128"}
}

// TestPreseedGolden pins the rendered preseed: a change to the template
// shows up as a diff of testdata/preseed.golden (go test -update rewrites it).
func TestPreseedGolden(t *testing.T) {
	got, err := RenderPreseed(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "preseed.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rendered preseed differs from %s:\n%s", golden, got)
	}
}

func TestRenderPreseedRefusesLineBreaks(t *testing.T) {
	p := sample()
	p.MirrorHost = "mirror\nd-i preseed/late_command string rm -rf /"
	if _, err := RenderPreseed(p); err == nil || !strings.Contains(err.Error(), "MirrorHost") {
		t.Fatalf("got %v, want an error naming MirrorHost", err)
	}
	p = sample()
	p.Hostname = ""
	if _, err := RenderPreseed(p); err == nil || !strings.Contains(err.Error(), "Hostname is empty") {
		t.Fatalf("got %v, want Hostname is empty", err)
	}
}

func TestCheckPreseed(t *testing.T) {
	good, err := RenderPreseed(sample())
	if err != nil {
		t.Fatal(err)
	}
	drop := func(q string) []byte {
		var out []string
		for _, l := range strings.Split(string(good), "\n") {
			if !strings.Contains(l, " "+q+" ") {
				out = append(out, l)
			}
		}
		return []byte(strings.Join(out, "\n"))
	}
	// Without openssh-server in either tasksel/first or pkgsel/include.
	noSSH := []byte(strings.Replace(string(drop("pkgsel/include")), "multiselect openssh-server", "multiselect standard", 1))
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"no mirror host", drop("mirror/http/hostname"), "no answer to mirror/http/hostname"},
		{"no proxy answer", drop("mirror/http/proxy"), "no answer to mirror/http/proxy"},
		{"no ssh", noSSH, "openssh-server"},
		{"malformed", append([]byte("d-i partman/confirm\n"), good...), "line 1"},
		{"bad boolean", []byte(strings.Replace(string(good), "partman/confirm boolean true", "partman/confirm boolean yes", 1)), "neither true nor false"},
		{"unknown type", []byte(strings.Replace(string(good), "time/zone string", "time/zone strnig", 1)), `unknown type "strnig"`},
		{"other mirror", []byte(strings.Replace(string(good), "string archive.ubuntu.com", "string gb.archive.ubuntu.com", 1)), "install repository says"},
		{"continued at end", append(good, []byte("d-i foo/bar string \\")...), "continued past the end"},
	}
	if err := CheckPreseed("preseed.cfg", good, "archive.ubuntu.com", "/ubuntu"); err != nil {
		t.Fatalf("the rendered preseed fails its own check: %v", err)
	}
	for _, c := range cases {
		err := CheckPreseed("preseed.cfg", c.data, "archive.ubuntu.com", "/ubuntu")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "preseed.cfg") {
			t.Errorf("%s: got %v, want an error naming the file and %q", c.name, err, c.want)
		}
	}
}

func TestParsePreseedContinuation(t *testing.T) {
	a, err := ParsePreseed("p", []byte("# c\n\nd-i partman-auto/expert_recipe string \\\n  boot-root :: \\\n  40 50 100 ext3\nd-i x/y boolean false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := a["partman-auto/expert_recipe"]; r.Line != 3 || !strings.Contains(r.Val, "boot-root ::") || !strings.HasSuffix(r.Val, "ext3") {
		t.Fatalf("continued answer: %+v", r)
	}
	if r := a["x/y"]; r.Line != 6 || r.Val != "false" {
		t.Fatalf("next answer: %+v", r)
	}
}
