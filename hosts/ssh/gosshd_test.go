package ssh

import (
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// goSSHD is an in-process SSH server on 127.0.0.1 that only completes
// handshakes: enough to test host key checks and authentication without
// a real sshd. It accepts one password and refuses every channel.
type goSSHD struct {
	addr    string
	hostKey ssh.Signer

	mu     sync.Mutex
	logins int
}

func startGoSSHD(t *testing.T, password string) *goSSHD {
	t.Helper()
	hostKey, _ := newKey(t)
	s := &goSSHD{hostKey: hostKey}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) != password {
				return nil, errWrongPassword
			}
			s.mu.Lock()
			s.logins++
			s.mu.Unlock()
			return nil, nil
		},
	}
	cfg.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		_ = l.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			conns.Store(nc, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
				if err != nil {
					return
				}
				defer sc.Close()
				go func() {
					for r := range reqs {
						_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
					}
				}()
				for ch := range chans {
					_ = ch.Reject(ssh.Prohibited, "handshake-only test server")
				}
			}()
		}
	}()
	return s
}

func (s *goSSHD) loginCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

type wrongPassword struct{}

func (wrongPassword) Error() string { return "wrong password" }

var errWrongPassword error = wrongPassword{}
