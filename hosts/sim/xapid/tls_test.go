package xapid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/xapi"
	"xenlab/secret"
)

// selfSigned returns a TLS config with a fresh self-signed certificate for
// 127.0.0.1 (as a XenServer host has) and the certificate's SHA-256.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xenserver-sim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		"sha256:" + hex.EncodeToString(sum[:])
}

func TestListenTLS(t *testing.T) {
	s, _, _ := newTestServer(t, Options{})
	cfg, fp := selfSigned(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, err := s.Listen(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatal(url)
	}
	if _, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(testPassword)}); err == nil {
		t.Fatal("an unverified self-signed certificate must be refused")
	}
	c, err := xapi.Dial(ctx, xapi.Options{URL: url, User: "root", Password: secret.New(testPassword), Fingerprint: fp})
	if err != nil {
		t.Fatalf("pinned: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.PoolGetAll(ctx); err != nil {
		t.Fatal(err)
	}
}
