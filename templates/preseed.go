package templates

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// PreseedFile is the preseed's template, and the name it is served under
// from dom0's web root (devstack served devstackubuntupreseed.cfg).
const PreseedFile = "preseed.cfg.tmpl"

// Preseed is what the domU template's preseed is rendered from.
type Preseed struct {
	Release    string // Ubuntu suite: precise
	Arch       string // amd64 or i386
	Hostname   string // netcfg/get_hostname
	Domain     string // netcfg/get_domain
	MirrorHost string // mirror/http/hostname: archive.ubuntu.com
	MirrorDir  string // mirror/http/directory: /ubuntu
	Proxy      string // mirror/http/proxy; "" for none
}

// RenderPreseed renders xenlab's built-in preseed and checks the result
// as the installer would read it (CheckPreseed).
func RenderPreseed(p Preseed) ([]byte, error) {
	for _, f := range []struct{ name, v string }{{"Release", p.Release}, {"Arch", p.Arch},
		{"Hostname", p.Hostname}, {"Domain", p.Domain}, {"MirrorHost", p.MirrorHost},
		{"MirrorDir", p.MirrorDir}, {"Proxy", p.Proxy}} {
		if err := oneLine("preseed", f.name, f.v); err != nil {
			return nil, err
		}
		if f.v == "" && f.name != "Proxy" {
			return nil, fmt.Errorf("templates: preseed: %s is empty", f.name)
		}
	}
	out, err := render(PreseedFile, p)
	if err != nil {
		return nil, err
	}
	if err := CheckPreseed("rendered preseed", out, p.MirrorHost, p.MirrorDir); err != nil {
		return nil, err
	}
	return out, nil
}

// PreseedAnswer is one debconf answer of a preseed file.
type PreseedAnswer struct {
	Line          int
	Owner, Type   string
	Question, Val string
}

// ParsePreseed reads a preseed file as debconf-set-selections does: one
// "owner question type value" per logical line (a trailing backslash joins
// the next line), "#" comments and blank lines skipped. It refuses a line
// without owner, question and type, an unknown type, and a boolean that is
// neither true nor false; name goes into errors.
func ParsePreseed(name string, data []byte) (map[string]PreseedAnswer, error) {
	answers := map[string]PreseedAnswer{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, start := 0, 0
	var logical strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		if logical.Len() == 0 {
			start = n
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue
			}
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			logical.WriteString(cont)
			continue
		}
		logical.WriteString(line)
		a, err := parseAnswer(logical.String())
		logical.Reset()
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, start, err)
		}
		a.Line = start
		answers[a.Question] = a
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if logical.Len() > 0 {
		return nil, fmt.Errorf("%s line %d: continued past the end of the file", name, start)
	}
	return answers, nil
}

var debconfTypes = map[string]bool{"string": true, "boolean": true, "select": true, "multiselect": true,
	"note": true, "password": true, "text": true, "error": true, "title": true}

func parseAnswer(s string) (PreseedAnswer, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return PreseedAnswer{}, fmt.Errorf("%q: want \"owner question type value\"", strings.TrimSpace(s))
	}
	a := PreseedAnswer{Owner: f[0], Question: f[1], Type: f[2]}
	if !debconfTypes[a.Type] {
		return a, fmt.Errorf("question %s: unknown type %q", a.Question, a.Type)
	}
	// The value is the rest of the line after the type, as one string.
	rest := strings.TrimLeft(s, " \t")
	for range 3 {
		rest = strings.TrimLeft(rest, " \t")
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			rest = ""
			break
		}
		rest = rest[i:]
	}
	a.Val = strings.TrimSpace(rest)
	if a.Type == "boolean" && a.Val != "true" && a.Val != "false" {
		return a, fmt.Errorf("question %s: boolean %q is neither true nor false", a.Question, a.Val)
	}
	return a, nil
}

// CheckPreseed refuses a preseed that would leave the unattended install
// waiting at a question (see RequiredPreseed for each key and why) or
// make a template whose guests have no SSH server. It does not insist on
// debian-installer/exit/poweroff: devstack's preseed rebooted at the end
// and the VM's actions_after_reboot=destroy halted it; xenlab does both. mirrorHost and mirrorDir, when not
// empty, must be what the preseed's mirror answers say (the VM's
// install-repository and the preseed name the same archive).
func CheckPreseed(name string, data []byte, mirrorHost, mirrorDir string) error {
	answers, err := ParsePreseed(name, data)
	if err != nil {
		return err
	}
	for _, r := range RequiredPreseed {
		a, ok := answers[r.Question]
		if !ok {
			return fmt.Errorf("%s: no answer to %s (%s)", name, r.Question, r.Why)
		}
		if r.Want != "" && a.Val != r.Want {
			return fmt.Errorf("%s line %d: %s is %q, want %q (%s)", name, a.Line, r.Question, a.Val, r.Want, r.Why)
		}
	}
	if !hasSSH(answers) {
		return fmt.Errorf("%s: openssh-server is in neither tasksel/first nor pkgsel/include "+
			"(the template's guests would have no SSH server)", name)
	}
	for _, m := range []struct{ q, want string }{{"mirror/http/hostname", mirrorHost}, {"mirror/http/directory", mirrorDir}} {
		if a := answers[m.q]; m.want != "" && a.Val != m.want {
			return fmt.Errorf("%s line %d: %s is %q but the install repository says %q", name, a.Line, m.q, a.Val, m.want)
		}
	}
	return nil
}

// Required is one answer a preseed must give.
type Required struct {
	Question string
	Want     string // "" for any value (an empty one included)
	Why      string
}

// RequiredPreseed are the answers CheckPreseed insists on: without them
// the Debian installer of Ubuntu 12.04 asks the question and an unattended
// install stops there.
var RequiredPreseed = []Required{
	{"mirror/http/hostname", "", "the installer would ask for the archive mirror"},
	{"mirror/http/directory", "", "the installer would ask for the mirror's directory"},
	{"mirror/http/proxy", "", "the installer would ask for an HTTP proxy"},
	{"partman-auto/method", "", "the installer would ask how to partition"},
	{"partman/choose_partition", "finish", "the installer would stop at the partition table"},
	{"partman/confirm", "true", "the installer would ask to confirm writing the disk"},
	{"partman/confirm_nooverwrite", "true", "the installer would ask to confirm writing the disk"},
	{"passwd/make-user", "", "the installer would ask for a user account"},
}

func hasSSH(answers map[string]PreseedAnswer) bool {
	for _, q := range []string{"tasksel/first", "pkgsel/include"} {
		for _, p := range strings.FieldsFunc(answers[q].Val, func(r rune) bool { return r == ',' || r == ' ' }) {
			if p == "openssh-server" {
				return true
			}
		}
	}
	return false
}
