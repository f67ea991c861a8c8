package localrc

import (
	"strings"
	"testing"

	"xenlab/hosts/xapi"
)

// TestOpenSSLFingerprintForm (issue 18): what `openssl x509 -noout
// -fingerprint -sha256` prints is accepted as xapi_fingerprint as it is,
// in OpenSSL 3's spelling and the older one, and the client pins the
// same bytes.
func TestOpenSSLFingerprintForm(t *testing.T) {
	pairs := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	want := "sha256:" + pairs
	for _, in := range []string{"sha256 Fingerprint=" + pairs, "SHA256 Fingerprint=" + pairs, " sha256 Fingerprint=" + pairs + "\n"} {
		got, err := normalizeFingerprint(in)
		if err != nil || got != want {
			t.Errorf("normalizeFingerprint(%q) = %q, %v; want %q", in, got, err, want)
		}
		b, err := xapi.ParseFingerprint(in)
		if err != nil || len(b) != 32 || b[0] != 0xab {
			t.Errorf("xapi.ParseFingerprint(%q) = %x, %v", in, b, err)
		}
	}
	if _, err := normalizeFingerprint("sha256 Fingerprint=" + pairs[:60]); err == nil {
		t.Error("a short openssl fingerprint was accepted")
	}
}
