package sim

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"xenlab/hosts/xapi"
)

// credentials are the simulated host's secrets, each in a file of its own
// under the state directory (mode 0600), so the lab file refers to them with
// file() and never holds them.
type credentials struct {
	password      string     // root's password: xapi and SSH, as on XenServer
	clientKey     ssh.Signer // the key the lab file's ssh_key names
	cert          tls.Certificate
	fingerprint   string // "sha256:<hex>" of the xapi certificate (xapi.FormatFingerprint)
	passwordFile  string
	clientKeyFile string
}

func loadCredentials(dir string) (credentials, error) {
	c := credentials{
		passwordFile:  filepath.Join(dir, "root-password"),
		clientKeyFile: filepath.Join(dir, "id_ed25519"),
	}
	pw, err := readOrCreate(c.passwordFile, func() ([]byte, error) { return []byte(randomHex(16)), nil })
	if err != nil {
		return c, err
	}
	c.password = strings.TrimSpace(string(pw))
	keyPEM, err := readOrCreate(c.clientKeyFile, func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "xenlab sim client")
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(block), nil
	})
	if err != nil {
		return c, err
	}
	if c.clientKey, err = ssh.ParsePrivateKey(keyPEM); err != nil {
		return c, fmt.Errorf("%s: %w", c.clientKeyFile, err)
	}
	pub := ssh.MarshalAuthorizedKey(c.clientKey.PublicKey())
	if err := os.WriteFile(c.clientKeyFile+".pub", pub, 0o644); err != nil {
		return c, err
	}
	certPEM, err := readOrCreate(filepath.Join(dir, "xapi-cert.pem"), selfSignedCert)
	if err != nil {
		return c, err
	}
	c.cert, err = tls.X509KeyPair(certPEM, certPEM)
	if err != nil {
		return c, fmt.Errorf("xapi-cert.pem: %w", err)
	}
	c.fingerprint = xapi.FormatFingerprint(c.cert.Certificate[0])
	return c, nil
}

func (c credentials) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.cert}, MinVersion: tls.VersionTLS12}
}

// selfSignedCert makes what a XenServer host has in /etc/xensource/xapi-ssl.pem:
// a self-signed certificate and its key, in one PEM file.
func selfSignedCert() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "xenserver-sim"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...), nil
}

// readOrCreate returns a file's content, creating it (mode 0600) with
// make() when it does not exist.
func readOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if b, err = make(); err != nil {
		return nil, err
	}
	return b, os.WriteFile(path, b, 0o600)
}
