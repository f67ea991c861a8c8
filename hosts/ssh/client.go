package ssh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("ssh: client is closed")

// maxExecSessions bounds concurrent exec sessions on one connection, below
// OpenSSH's default MaxSessions of 10 (the SFTP session takes one more).
const maxExecSessions = 8

// Client is one host's SSH connection, shared by all commands and file
// transfers; it is safe for concurrent use.
type Client struct {
	cfg     Config
	signers []ssh.Signer

	lock    chan struct{} // held while reading or replacing cur
	cur     *conn
	slots   chan struct{} // exec session slots
	closing context.Context
	close   context.CancelFunc

	handshakes atomic.Int64
	sessions   atomic.Int64
	keepalives atomic.Int64 // answered keepalive requests
}

// conn is one SSH connection and what lives on it.
type conn struct {
	client *ssh.Client
	done   chan struct{} // closed when the connection has ended
	broken atomic.Bool   // set when a call saw the connection fail

	sftpMu sync.Mutex
	sftp   *sftp.Client
}

func (k *conn) dead() bool {
	if k.broken.Load() {
		return true
	}
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// alive reports whether the peer answers a keepalive request within
// timeout.
func (k *conn) alive(timeout time.Duration) bool {
	if k.dead() {
		return false
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := k.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-reply:
		return err == nil
	case <-k.done:
		return false
	case <-t.C:
		return false
	}
}

// markDead closes a connection a call found broken, so the next call
// redials.
func (k *conn) markDead() {
	k.broken.Store(true)
	_ = k.client.Close()
}

// New checks cfg and returns a Client that connects on first use, which
// suits a domU that has not booted yet.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	signers, err := loadSigners(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		signers: signers,
		lock:    make(chan struct{}, 1),
		slots:   make(chan struct{}, maxExecSessions),
	}
	c.closing, c.close = context.WithCancel(context.Background())
	return c, nil
}

// Dial connects to the host now, retrying by cfg.Retry, and returns the
// Client that keeps the connection.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := c.get(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Host returns the host's name from the Config.
func (c *Client) Host() string { return c.cfg.Host }

// Handshakes returns the number of SSH handshakes completed, i.e. the
// number of connections made over the Client's life.
func (c *Client) Handshakes() int64 { return c.handshakes.Load() }

// Sessions returns the number of SSH sessions opened (one per command,
// plus one per SFTP subsystem).
func (c *Client) Sessions() int64 { return c.sessions.Load() }

// Close closes the connection; later calls return ErrClosed.
func (c *Client) Close() error {
	c.close()
	c.lock <- struct{}{}
	defer func() { <-c.lock }()
	if c.cur == nil {
		return nil
	}
	k := c.cur
	c.cur = nil
	k.sftpMu.Lock()
	if k.sftp != nil {
		_ = k.sftp.Close()
	}
	k.sftpMu.Unlock()
	if err := k.client.Close(); err != nil && !k.dead() {
		return fmt.Errorf("ssh %s: close: %w", c.cfg.Host, err)
	}
	return nil
}

// get returns the live connection, dialing when there is none or it died.
func (c *Client) get(ctx context.Context) (*conn, error) {
	select {
	case c.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ssh %s: waiting for connection: %w", c.cfg.Host, ctx.Err())
	}
	defer func() { <-c.lock }()
	if c.closing.Err() != nil {
		return nil, ErrClosed
	}
	if c.cur != nil && !c.cur.dead() {
		return c.cur, nil
	}
	// Closing the Client interrupts a dial in progress.
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()
	client, err := dialRetry(dctx, c.cfg, c.signers)
	if err != nil {
		if c.closing.Err() != nil {
			return nil, ErrClosed
		}
		return nil, err
	}
	c.handshakes.Add(1)
	k := &conn{client: client, done: make(chan struct{})}
	go func() {
		_ = client.Wait()
		close(k.done)
	}()
	if c.cfg.Keepalive > 0 {
		go c.keepalive(k)
	}
	c.cur = k
	return k, nil
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when a request goes unanswered for keepaliveMaxMissed
// intervals. It returns when the connection ends.
func (c *Client) keepalive(k *conn) {
	t := time.NewTicker(c.cfg.Keepalive)
	defer t.Stop()
	for {
		select {
		case <-k.done:
			return
		case <-t.C:
		}
		// OpenSSH answers unknown global requests with a failure reply;
		// any reply proves the peer is alive.
		if !k.alive(keepaliveMaxMissed * c.cfg.Keepalive) {
			if !k.dead() {
				c.cfg.logf("ssh %s (%s): %d keepalive intervals unanswered, closing the connection", c.cfg.Host, c.cfg.Addr, keepaliveMaxMissed)
				k.markDead()
			}
			return
		}
		c.keepalives.Add(1)
	}
}

// openSession opens an exec session, redialing once if the connection is
// found broken before the session exists (so no command was sent yet).
func (c *Client) openSession(ctx context.Context) (*ssh.Session, *conn, error) {
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		k, err := c.get(ctx)
		if err != nil {
			return nil, nil, err
		}
		s, err := k.client.NewSession()
		if err == nil {
			c.sessions.Add(1)
			return s, k, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			return nil, nil, fmt.Errorf("ssh %s: open session: %w", c.cfg.Host, err)
		}
		k.markDead()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("ssh %s: open session: connection lost twice: %w", c.cfg.Host, lastErr)
}
