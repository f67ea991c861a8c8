package ssh

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// agentDialTimeout bounds connecting to the ssh-agent's socket.
const agentDialTimeout = 5 * time.Second

// authSet is the authentication methods for one dial, and what must be
// released after the handshake (the agent connection).
type authSet struct {
	methods []ssh.AuthMethod
	tried   []string // human description, for errors
	closer  io.Closer
}

func (a *authSet) Close() {
	if a.closer != nil {
		_ = a.closer.Close()
	}
}

// loadSigners parses the configured key files. A passphrase-protected key
// is decrypted with the passphrase from cfg.PassphraseEnv; errors name the
// file and the variable, never the passphrase.
func loadSigners(cfg Config) ([]ssh.Signer, error) {
	var signers []ssh.Signer
	for _, path := range cfg.KeyFiles {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: key file: %w", cfg.Host, err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			if cfg.PassphraseEnv == "" {
				return nil, fmt.Errorf("ssh %s: key file %s has a passphrase, which xenlab does not ask for: load the key into an ssh-agent (ssh-add %s) and leave ssh_key out, or name a key without a passphrase", cfg.Host, path, path)
			}
			pass, ok := os.LookupEnv(cfg.PassphraseEnv)
			if !ok {
				return nil, fmt.Errorf("ssh %s: key file %s is encrypted and $%s is not set", cfg.Host, path, cfg.PassphraseEnv)
			}
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, fmt.Errorf("ssh %s: key file %s: wrong passphrase in $%s", cfg.Host, path, cfg.PassphraseEnv)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("ssh %s: key file %s: %w", cfg.Host, path, err)
		}
		signers = append(signers, signer)
	}
	return signers, nil
}

// authMethods builds the methods in the order they are tried: public keys
// (agent first, then key files, as one method, because the ssh package
// tries each method name only once), then password.
func authMethods(cfg Config, fileSigners []ssh.Signer) (*authSet, error) {
	set := &authSet{}
	var agentSigners func() ([]ssh.Signer, error)
	if cfg.UseAgent {
		// The agent is used when there is one; a password or key files
		// work without it.
		others := len(fileSigners) > 0 || cfg.Password.IsSet()
		sock := os.Getenv("SSH_AUTH_SOCK")
		var conn net.Conn
		var err error
		if sock == "" {
			err = errors.New("SSH_AUTH_SOCK is not set")
		} else if conn, err = net.DialTimeout("unix", sock, agentDialTimeout); err != nil {
			err = fmt.Errorf("ssh-agent at $SSH_AUTH_SOCK: %w", err)
		}
		switch {
		case err == nil:
			set.closer = conn
			agentSigners = agent.NewClient(conn).Signers
			set.tried = append(set.tried, "ssh-agent keys")
		case !others:
			return nil, fmt.Errorf("ssh %s: no ssh-agent to authenticate with (%v), and no key file or password is configured", cfg.Host, err)
		default:
			cfg.logf("ssh %s: not using an ssh-agent (%v)", cfg.Host, err)
		}
	}
	if len(fileSigners) > 0 {
		set.tried = append(set.tried, fmt.Sprintf("%d key file(s)", len(fileSigners)))
	}
	if agentSigners != nil || len(fileSigners) > 0 {
		set.methods = append(set.methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			var all []ssh.Signer
			if agentSigners != nil {
				s, err := agentSigners()
				if err == nil {
					all = append(all, s...)
				}
			}
			return append(all, fileSigners...), nil
		}))
	}
	if cfg.Password.IsSet() {
		pw := cfg.Password
		set.methods = append(set.methods, ssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil }))
		set.tried = append(set.tried, "password")
	}
	return set, nil
}
