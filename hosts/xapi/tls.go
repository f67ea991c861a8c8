package xapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ParseFingerprint parses a SHA-256 certificate fingerprint written as
// "sha256:<hex>", "sha256 Fingerprint=<hex>" or bare hex, with or without
// colons, in either case (the forms `openssl x509 -fingerprint -sha256`
// and xenlab print).
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.TrimSpace(s)
	if len(h) > 19 && strings.EqualFold(h[:19], "sha256 fingerprint=") { // openssl's form
		h = h[19:]
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "sha256:") {
		h = h[7:]
	}
	h = strings.ReplaceAll(h, ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("xapi: fingerprint %q is not a SHA-256 (64 hex digits, optionally prefixed sha256:)", s)
	}
	return b, nil
}

// FormatFingerprint returns the "sha256:<hex>" fingerprint of a DER
// certificate, the form Options.Fingerprint accepts.
func FormatFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pinnedTLSConfig verifies the server only by the SHA-256 of its leaf
// certificate. Chain and name checks are replaced by the pin, never skipped
// without it: VerifyConnection runs on every handshake, resumed ones too.
func pinnedTLSConfig(pin []byte) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection's pin check
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("xapi: server sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(sum[:], pin) {
				return fmt.Errorf("xapi: server certificate %s does not match the pinned fingerprint sha256:%s",
					FormatFingerprint(cs.PeerCertificates[0].Raw), hex.EncodeToString(pin))
			}
			return nil
		},
	}
}
