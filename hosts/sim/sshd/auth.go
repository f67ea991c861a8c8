package sshd

import (
	"bytes"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Permission extensions recording how a connection authenticated.
const (
	extUser   = "xenlab-user"
	extMethod = "xenlab-auth"
)

func (s *Server) passwordCallback(c ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	u, ok := s.cfg.Users[c.User()]
	if ok && u.Password != "" &&
		subtle.ConstantTimeCompare([]byte(u.Password), password) == 1 {
		return perms(c.User(), "password"), nil
	}
	s.logf("%s: password refused for %q", c.RemoteAddr(), c.User())
	return nil, fmt.Errorf("password refused for %q", c.User())
}

func (s *Server) publicKeyCallback(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if u, ok := s.cfg.Users[c.User()]; ok {
		wire := key.Marshal()
		for _, k := range u.AuthorizedKeys {
			if bytes.Equal(k.Marshal(), wire) {
				return perms(c.User(), "publickey "+ssh.FingerprintSHA256(key)), nil
			}
		}
	}
	// The client offers keys one by one; only log, do not treat as fatal.
	s.logf("%s: key %s not authorized for %q", c.RemoteAddr(), ssh.FingerprintSHA256(key), c.User())
	return nil, fmt.Errorf("key not authorized for %q", c.User())
}

func perms(user, method string) *ssh.Permissions {
	return &ssh.Permissions{Extensions: map[string]string{extUser: user, extMethod: method}}
}
