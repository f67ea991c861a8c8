package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// permanentError marks a dial failure that retrying cannot fix: a host key
// that does not verify, or credentials the server refuses.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// dialRetry dials with cfg.Retry: capped exponential backoff between
// attempts that failed for a reason a booting host explains (refused,
// reset, timed out), bounded by the attempt count and ctx.
func dialRetry(ctx context.Context, cfg Config, signers []ssh.Signer) (*ssh.Client, error) {
	wait := cfg.Retry.Initial
	for attempt := 1; ; attempt++ {
		client, err := dialOnce(ctx, cfg, signers)
		if err == nil {
			return client, nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return nil, perm.err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh %s (%s): gave up after %d attempt(s): %w (last error: %v)", cfg.Host, cfg.Addr, attempt, ctx.Err(), err)
		}
		if attempt >= cfg.Retry.Attempts {
			if attempt > 1 {
				return nil, fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return nil, err
		}
		cfg.logf("ssh %s (%s): connect attempt %d failed: %v; retrying in %s", cfg.Host, cfg.Addr, attempt, err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("ssh %s (%s): gave up after %d attempt(s): %w (last error: %v)", cfg.Host, cfg.Addr, attempt, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, cfg.Retry.Max)
	}
}

// dialOnce makes one TCP connection and SSH handshake, bounded by
// cfg.DialTimeout and ctx.
func dialOnce(ctx context.Context, cfg Config, signers []ssh.Signer) (*ssh.Client, error) {
	hk, err := newHostKeys(cfg)
	if err != nil {
		return nil, &permanentError{err}
	}
	auth, err := authMethods(cfg, signers)
	if err != nil {
		return nil, &permanentError{err}
	}
	defer auth.Close()

	var hostKeyErr error
	cc := &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth.methods,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			hostKeyErr = hk.callback(hostname, remote, key)
			return hostKeyErr
		},
		HostKeyAlgorithms: hk.algorithms(cfg.Addr),
		Timeout:           cfg.DialTimeout,
	}

	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s (%s): connect: %w", cfg.Host, cfg.Addr, err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	// A cancelled context interrupts the handshake by expiring the deadline.
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	conn, chans, reqs, err := ssh.NewClientConn(nc, cfg.Addr, cc)
	interrupted := !stop()
	if err != nil {
		_ = nc.Close()
		if hostKeyErr != nil {
			return nil, &permanentError{hostKeyErr}
		}
		var negErr *ssh.AlgorithmNegotiationError
		if cc.HostKeyAlgorithms != nil && errors.As(err, &negErr) && negErr.What == "host key" {
			return nil, &permanentError{fmt.Errorf("ssh %s (%s): the host offers none of the key types recorded for it (%s) in %s; its host keys may have changed: %w",
				cfg.Host, cfg.Addr, strings.Join(cc.HostKeyAlgorithms, ", "), strings.Join(cfg.KnownHosts, ", "), err)}
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &permanentError{fmt.Errorf("ssh %s (%s): authenticating as %s with %s: %w",
				cfg.Host, cfg.Addr, cfg.User, strings.Join(auth.tried, ", "), err)}
		}
		return nil, fmt.Errorf("ssh %s (%s): handshake: %w", cfg.Host, cfg.Addr, err)
	}
	if interrupted {
		_ = conn.Close()
		return nil, fmt.Errorf("ssh %s (%s): handshake: %w", cfg.Host, cfg.Addr, dctx.Err())
	}
	_ = nc.SetDeadline(time.Time{})
	return ssh.NewClient(conn, chans, reqs), nil
}
