package localrc

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"xenlab/secret"
)

// hosts decodes each host block over its defaults and checks the fleet:
// at least one host, unique labels, distinct xapi URLs.
func (v *validator) hosts(headers []hostHeader) []Host {
	if len(headers) == 0 {
		r := v.file.Body.MissingItemRange()
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing host block",
			Detail:   `At least one host "name" { xapi_url = ..., xapi_password = ... } block is required.`,
			Subject:  &r,
		})
		return nil
	}
	seen := map[string]hcl.Range{}
	urls := map[string]string{}
	var out []Host
	for _, hh := range headers {
		if prev, dup := seen[hh.Name]; dup {
			v.errorf(hh.LabelRange, "host label", "host %q is already defined at %s; host labels must be unique", hh.Name, prev)
		} else if !nameRE.MatchString(hh.Name) {
			v.errorf(hh.LabelRange, "host label", "a host label must be 1-63 letters, digits, '.', '_' or '-'; got %q", hh.Name)
		}
		seen[hh.Name] = hh.LabelRange
		raw := defaultHost()
		v.diags = append(v.diags, gohcl.DecodeBody(hh.Body, v.ctx, &raw)...)
		h := v.host(hh, &raw)
		if raw.XAPIURLRange.Filename != "" && h.XAPIURL != "" {
			if other, dup := urls[h.XAPIURL]; dup {
				v.errorf(raw.XAPIURLRange, "host.xapi_url", "host %q uses the same xapi_url as host %q; each host block must be a different host", hh.Name, other)
			}
			urls[h.XAPIURL] = hh.Name
		}
		out = append(out, h)
	}
	return out
}

// host turns one decoded host block into a Host, checking each field.
func (v *validator) host(hh hostHeader, raw *hostBlock) Host {
	h := Host{
		Name:         hh.Name,
		XAPIURL:      raw.XAPIURL,
		XAPIUser:     raw.XAPIUser,
		XAPIPassword: secret.New(raw.XAPIPassword),
		SSHHost:      raw.SSHHost,
		SSHPort:      raw.SSHPort,
		SSHUser:      raw.SSHUser,
		SSHKey:       expandPath(raw.SSHKey, v.env.dir),
		SSHPassword:  secret.New(raw.SSHPassword),
		KnownHosts:   expandPath(raw.KnownHosts, v.env.dir),
	}
	if raw.XAPIURLRange.Filename != "" {
		v.check(raw.XAPIURLRange, func() {
			u, err := parseXAPIURL(raw.XAPIURL)
			if err != nil {
				v.errorf(raw.XAPIURLRange, "host.xapi_url", "xapi_url must be an http:// or https:// URL of the XenServer host, e.g. \"https://192.168.1.10\": %v", err)
				return
			}
			if h.SSHHost == "" {
				h.SSHHost = u.Hostname()
			}
			if why := implausibleHost(u.Hostname()); why != "" {
				v.warnf(raw.XAPIURLRange, "host.xapi_url", "%s %s; give the address of your XenServer host", quoteHost(u.Hostname()), why)
			}
		})
	}
	v.check(raw.SSHHostRange, func() {
		if raw.SSHHost == "" {
			return
		}
		if why := implausibleHost(raw.SSHHost); why != "" {
			v.warnf(raw.SSHHostRange, "host.ssh_host", "%s %s; give the address of your XenServer host", quoteHost(raw.SSHHost), why)
		}
	})
	v.check(raw.XAPIUserRange, func() {
		if raw.XAPIUser == "" {
			v.errorf(at(raw.XAPIUserRange, hh.DefRange), "host.xapi_user", "xapi_user must not be empty (devstack's XENAPI_USER is usually \"root\")")
		}
	})
	v.check(raw.XAPIFingerprintRange, func() {
		fp, err := normalizeFingerprint(raw.XAPIFingerprint)
		if err != nil {
			v.errorf(raw.XAPIFingerprintRange, "host.xapi_fingerprint", "%v", err)
		}
		h.XAPIFingerprint = fp
	})
	v.check(raw.SSHHostRange, func() {
		if raw.SSHHostRange.Filename != "" && (raw.SSHHost == "" || strings.ContainsAny(raw.SSHHost, " /@")) {
			v.errorf(raw.SSHHostRange, "host.ssh_host", "ssh_host must be a host name or IP address; got %q", raw.SSHHost)
		}
	})
	v.check(raw.SSHUserRange, func() {
		if raw.SSHUser == "" {
			v.errorf(at(raw.SSHUserRange, hh.DefRange), "host.ssh_user", "ssh_user must not be empty")
		}
	})
	v.check(raw.SSHPortRange, func() { v.port(raw.SSHPort, at(raw.SSHPortRange, hh.DefRange), "host.ssh_port") })
	return h
}

// parseXAPIURL checks an xapi_url: http or https, a host, no credentials,
// a valid port. Its errors never quote the URL's user information.
func parseXAPIURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's message quotes the whole URL, credentials included.
		return nil, fmt.Errorf("not a valid URL")
	}
	if u.User != nil {
		// First: the checks below quote the URL.
		return nil, fmt.Errorf("credentials do not belong in the URL; use xapi_user and xapi_password")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not 1-65535", p)
		}
	}
	return u, nil
}

// normalizeFingerprint accepts "sha256:AB:CD:...", openssl's "sha256
// Fingerprint=AB:CD:..." or 64 hex digits (with or without colons and the
// prefix) and returns "sha256:AB:CD:..." upper case.
func normalizeFingerprint(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	t := strings.TrimSpace(s)
	// openssl x509 -noout -fingerprint -sha256 prints "sha256 Fingerprint=AB:CD:..."
	// (OpenSSL 3; "SHA256 Fingerprint=" before): accepted as it is.
	if len(t) > 19 && strings.EqualFold(t[:19], "sha256 fingerprint=") {
		t = t[19:]
	}
	if i := strings.IndexByte(t, ':'); i > 0 && strings.EqualFold(t[:i], "sha256") {
		t = t[i+1:]
	}
	hexs := strings.ReplaceAll(t, ":", "")
	if !hexPairRE.MatchString(hexs) {
		return "", fmt.Errorf("xapi_fingerprint must be the SHA-256 of the host's certificate, \"sha256:\" and 32 hex bytes such as \"sha256:AB:CD:...\"; got %q", s)
	}
	hexs = strings.ToUpper(hexs)
	pairs := make([]string, 0, 32)
	for i := 0; i < len(hexs); i += 2 {
		pairs = append(pairs, hexs[i:i+2])
	}
	return "sha256:" + strings.Join(pairs, ":"), nil
}

// port checks a TCP port number.
func (v *validator) port(p int, rng hcl.Range, field string) {
	if p < 1 || p > 65535 {
		v.errorf(rng, field, "%s must be a TCP port 1-65535; got %d", field[strings.LastIndexByte(field, '.')+1:], p)
	}
}

// quoteHost quotes a host for a warning when it looks like one (letters,
// digits, '.', ':', '-', '_' and at most 253 of them); anything else, such
// as what file() read by mistake, is not quoted: "the host".
func quoteHost(h string) string {
	if len(h) > 253 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-_") != "" {
		return "the host"
	}
	return strconv.Quote(h)
}

// implausibleHost says why a host cannot be a XenServer host xenlab can
// reach, or returns "": the README's placeholder (a name with characters
// no host name has), a link-local address (169.254.0.1 is dom0 as domU
// sees it, devstack's old default, unreachable from where xenlab runs),
// the unspecified, broadcast or a multicast address, or a name under a
// domain reserved for documentation and tests (RFC 2606).
func implausibleHost(host string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		switch {
		case a.IsLinkLocalUnicast():
			return "is a link-local address (169.254.0.1 is dom0 as domU sees it), not reachable from where xenlab runs"
		case a.IsUnspecified():
			return "is the unspecified address"
		case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return "is not a host's address"
		}
		return ""
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, label := range strings.Split(lower, ".") {
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "is not a valid host name (a placeholder such as the README's address_of_your_xenserver?)"
		}
	}
	for _, tld := range []string{"example", "invalid", "test"} {
		if lower == tld || strings.HasSuffix(lower, "."+tld) {
			return "is under ." + tld + ", a domain reserved for examples and tests"
		}
	}
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		if lower == d || strings.HasSuffix(lower, "."+d) {
			return "is under " + d + ", a domain reserved for examples"
		}
	}
	return ""
}
