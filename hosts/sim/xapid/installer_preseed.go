package xapid

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"strings"
)

// The modelled Debian installer's reading of its answers, written apart
// from xenlab's own preseed check (package templates) so that the model
// catches what that check lets through. Sources: the Ubuntu 12.04
// installation guide's appendix B (preseeding: debconf-set-selections
// format, boot parameters as answers, "auto" and "url="), and devstack's
// devstackubuntupreseed.cfg and install_ubuntu_template.sh (the answers
// an unattended install of that era needed in the file or on the kernel
// command line).

// diAnswer is one preseeded answer and where it came from.
type diAnswer struct {
	typ, val string
	where    string // "preseed line N" or "PV-args"
}

// readPreseed reads debconf-set-selections lines: "owner question type
// value", "#" comments, a trailing backslash joining the next line.
func readPreseed(src string, data []byte, answers map[string]diAnswer) error {
	known := map[string]bool{"string": true, "boolean": true, "select": true, "multiselect": true,
		"note": true, "password": true, "text": true, "error": true, "title": true}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var pending strings.Builder
	n, first := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if pending.Len() == 0 {
			first = n
			if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
				continue
			}
		}
		if body, more := strings.CutSuffix(line, "\\"); more {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(line)
		f := strings.Fields(pending.String())
		pending.Reset()
		if len(f) < 3 {
			return fmt.Errorf("%s line %d: not \"owner question type value\"", src, first)
		}
		if !known[f[2]] {
			return fmt.Errorf("%s line %d: %s has unknown type %q", src, first, f[1], f[2])
		}
		val := strings.Join(f[3:], " ")
		if f[2] == "boolean" && val != "true" && val != "false" {
			return fmt.Errorf("%s line %d: %s: boolean %q", src, first, f[1], val)
		}
		answers[f[1]] = diAnswer{typ: f[2], val: val, where: fmt.Sprintf("%s line %d", src, first)}
	}
	if pending.Len() > 0 {
		return fmt.Errorf("%s line %d: a continued line runs past the end", src, first)
	}
	return sc.Err()
}

// bootAnswers are the answers on the kernel command line: question=value
// pairs (d-i takes any argument with a "/" in its name as one) and the
// aliases d-i defines for the common ones.
func bootAnswers(args []string, answers map[string]diAnswer) {
	aliases := map[string]string{"locale": "debian-installer/locale", "hostname": "netcfg/get_hostname",
		"domain": "netcfg/get_domain", "url": "preseed/url", "interface": "netcfg/choose_interface"}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			continue
		}
		if full, ok := aliases[k]; ok {
			k = full
		}
		if strings.Contains(k, "/") {
			answers[k] = diAnswer{typ: "string", val: v, where: "PV-args"}
		}
	}
}

// diQuestion is one question the modelled installer asks unless answered.
type diQuestion struct {
	q    string
	want string // "" for any answer
	why  string
}

// diQuestions are asked in this order; an unanswered one stops the
// unattended install.
var diQuestions = []diQuestion{
	{"netcfg/get_hostname", "", "the host name"},
	{"mirror/http/hostname", "", "the archive mirror"},
	{"mirror/http/directory", "", "the mirror's directory"},
	{"mirror/http/proxy", "", "the HTTP proxy (an empty answer is an answer)"},
	{"partman-auto/method", "", "how to partition"},
	{"partman/choose_partition", "finish", "what to do with the partition table"},
	{"partman/confirm", "true", "whether to write the partitions"},
	{"partman/confirm_nooverwrite", "true", "whether to write the partitions"},
	{"passwd/make-user", "", "a user account"},
}

// checkAnswers is the modelled installer's run through its questions.
func checkAnswers(answers map[string]diAnswer, repo *url.URL) error {
	for _, q := range diQuestions {
		a, ok := answers[q.q]
		if !ok {
			return fmt.Errorf("the installer asks for %s (%s): no answer in the preseed or PV-args", q.why, q.q)
		}
		if q.want != "" && a.val != q.want {
			return fmt.Errorf("the installer asks for %s (%s): %s answers %q, not %q", q.why, q.q, a.where, a.val, q.want)
		}
	}
	if root := answers["passwd/root-login"]; root.val != "false" {
		_, clear := answers["passwd/root-password"]
		_, crypted := answers["passwd/root-password-crypted"]
		if !clear && !crypted {
			return fmt.Errorf("the installer asks for root's password (passwd/root-password): no answer in the preseed or PV-args")
		}
	}
	host, dir := answers["mirror/http/hostname"], answers["mirror/http/directory"]
	if host.val != repo.Host || dir.val != repo.Path {
		return fmt.Errorf("%s and %s name the mirror http://%s%s, but the installer came from install-repository %s",
			host.where, dir.where, host.val, dir.val, repo)
	}
	ssh := false
	for _, q := range []string{"tasksel/first", "pkgsel/include"} {
		for _, p := range strings.FieldsFunc(answers[q].val, func(r rune) bool { return r == ',' || r == ' ' }) {
			ssh = ssh || p == "openssh-server"
		}
	}
	if !ssh {
		return fmt.Errorf("openssh-server is in neither tasksel/first nor pkgsel/include: the installed system has no SSH server")
	}
	return nil
}
