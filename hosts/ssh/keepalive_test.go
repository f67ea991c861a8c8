package ssh

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// freezableProxy forwards TCP to target; while frozen it holds all data,
// like a host that hangs or a network path that drops packets.
type freezableProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *freezableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezableProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setFrozen(false)
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *freezableProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		go p.pipe(up, down)
		go p.pipe(down, up)
	}
}

func (p *freezableProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.frozen {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezableProxy) setFrozen(f bool) {
	p.mu.Lock()
	p.frozen = f
	p.mu.Unlock()
	p.cond.Broadcast()
}

// currentConnDead reports whether the client has no live connection.
func (c *Client) currentConnDead() bool {
	c.lock <- struct{}{}
	defer func() { <-c.lock }()
	return c.cur == nil || c.cur.dead()
}

// A connection that stops answering is closed after three unanswered
// keepalives, and the next command redials.
func TestKeepaliveDetectsAHungConnection(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	proxy := startProxy(t, s.addr)
	cfg := s.config(t)
	cfg.Addr = proxy.ln.Addr().String()
	// known_hosts records the key under the proxy's address too.
	cfg.KnownHosts = []string{t.TempDir() + "/known_hosts"}
	cfg.AcceptNewHostKeys = true
	// Short, but three intervals must exceed any stall of a loaded test machine.
	cfg.Keepalive = 250 * time.Millisecond
	c := dialTest(t, cfg)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
	proxy.setFrozen(true)
	for i := 0; !c.currentConnDead(); i++ {
		if i == 1000 {
			t.Fatal("a hung connection was not detected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	proxy.setFrozen(false)
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Fatalf("after the hang: %v", err)
	}
	if c.Handshakes() != 2 {
		t.Fatalf("Handshakes() = %d, want 2", c.Handshakes())
	}
}
