// Package secrettest holds the ways a log can hold a secret, for the tests
// that check every place xenlab shows text from outside (terminal, JSON,
// JUnit, collected logs) scrubs them all.
package secrettest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// Echo is a line of a log that holds a secret in one encoding: Marks are
// the encoded pieces of the secret in it, none of which may survive a
// scrub.
type Echo struct {
	Name  string
	Text  string
	Marks []string
}

// Echoes returns the encodings of secret (12 characters or more, so its
// pieces are shorter than it) that issue 16 found reaching the terminal,
// --json, JUnit and collected logs, each in a line of its own.
func Echoes(secret string) []Echo {
	var out []Echo
	add := func(name, text string, marks ...string) {
		out = append(out, Echo{Name: name, Text: text, Marks: marks})
	}
	b64 := func(enc *base64.Encoding, s string) string { return enc.EncodeToString([]byte(s)) }
	add("plain", "login failed for root with "+secret+" at 10:00", secret)
	basic := b64(base64.StdEncoding, "root:"+secret)
	add("Authorization: Basic", "GET /rest HTTP/1.1 Authorization: Basic "+basic, basic)
	for a := range 3 {
		blob := b64(base64.StdEncoding, strings.Repeat("x", a)+secret+"}")
		add(fmt.Sprintf("base64 at offset %d", a), "config blob "+blob+" loaded", blob)
		ublob := b64(base64.RawURLEncoding, `{"p":"`[:a+1]+secret+`"}`)
		add(fmt.Sprintf("base64url at offset %d", a), "token="+ublob+"&next=1", ublob)
	}
	keepSlash := pctEscape(secret, "/", true)
	add("URL-escaped keeping /", "POST /login?pw="+keepSlash+"&u=root", keepSlash)
	lower := pctEscape(secret, "", false)
	add("lowercase %xx", "redirect to /cb?p="+lower, lower)
	double := url.QueryEscape(url.QueryEscape(secret))
	add("double URL escaping", "next=/login%3Fpw%3D"+double, double)
	var dec, hexe strings.Builder
	for _, r := range secret {
		fmt.Fprintf(&dec, "&#%d;", r)
		fmt.Fprintf(&hexe, "&#x%x;", r)
	}
	add("&#NN; entities", "<input value=\""+dec.String()+"\">", dec.String())
	add("&#xNN; entities", "<input value=\""+hexe.String()+"\">", hexe.String())
	r := []rune(secret)
	for _, p := range []struct{ from, n int }{{0, 9}, {2, 10}, {len(r) - 11, 11}, {1, 12}} {
		if p.from+p.n > len(r) || p.n >= len(r) {
			continue
		}
		piece := string(r[p.from : p.from+p.n])
		add(fmt.Sprintf("%d-character piece", p.n), "truncated: ..."+piece+"...", piece)
	}
	return out
}

// pctEscape %-escapes every byte of s but ASCII letters, digits and
// those in keep, in upper or lower case hex.
func pctEscape(s, keep string, upper bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		f := "%%%02x"
		if upper {
			f = "%%%02X"
		}
		fmt.Fprintf(&b, f, c)
	}
	return b.String()
}

// Survivors lists the marks of echoes (and the secret itself) that text
// still holds.
func Survivors(text, secret string, echoes []Echo) []string {
	var out []string
	if strings.Contains(text, secret) {
		out = append(out, "the secret itself")
	}
	for _, e := range echoes {
		for _, m := range e.Marks {
			if strings.Contains(text, m) {
				out = append(out, e.Name+": "+m)
			}
		}
	}
	return out
}
