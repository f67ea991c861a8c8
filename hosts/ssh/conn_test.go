package ssh

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"xenlab/secret"
)

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func TestOneHandshakeForManyCommandsAndTransfers(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		res, err := c.Run(ctx, fmt.Sprintf("echo %d", i))
		if err != nil || string(res.Stdout) != fmt.Sprintf("%d\n", i) {
			t.Fatalf("run %d: %q %v", i, res.Stdout, err)
		}
	}
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		if _, err := c.UploadBytes(ctx, []byte(fmt.Sprint(i)), filepath.Join(dir, fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Handshakes(); got != 1 {
		t.Fatalf("Handshakes() = %d, want 1", got)
	}
	// 10 exec sessions and one SFTP session (the uploads of new files need
	// no checksum).
	if got := c.Sessions(); got != 11 {
		t.Fatalf("Sessions() = %d, want 11", got)
	}
}

// More concurrent commands than OpenSSH's MaxSessions (10) share one
// connection.
func TestConcurrentCommandsShareOneConnection(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Run(context.Background(), fmt.Sprintf("echo %d", i))
			if err == nil && string(res.Stdout) != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("run %d: stdout %q", i, res.Stdout)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if c.Handshakes() != 1 {
		t.Fatalf("Handshakes() = %d, want 1", c.Handshakes())
	}
}

func TestReconnectsAfterServerRestart(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	ctx := context.Background()
	if _, err := c.Run(ctx, "true"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := c.UploadBytes(ctx, []byte("a"), filepath.Join(dir, "a"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.stop()
	s.start()
	res, err := c.Run(ctx, "echo back")
	if err != nil || string(res.Stdout) != "back\n" {
		t.Fatalf("first command after restart: %q %v", res.Stdout, err)
	}
	// SFTP moved to the new connection too.
	if _, err := c.UploadBytes(ctx, []byte("b"), filepath.Join(dir, "b"), 0o644); err != nil {
		t.Fatalf("upload after restart: %v", err)
	}
	if got := c.Handshakes(); got != 2 {
		t.Fatalf("Handshakes() = %d, want 2", got)
	}
}

// A connection lost while a command runs: the command is not re-sent
// unless it is marked idempotent.
func TestLostConnectionDuringCommand(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- c.Stream(context.Background(), "echo started; exec sleep 600", func(line string, _ bool) {
			if line == "started" {
				close(started)
			}
		})
	}()
	<-started
	s.stop()
	err := <-errc
	var runErr *RunError
	if !errors.As(err, &runErr) || runErr.ExitStatus != -1 || !strings.Contains(err.Error(), "without an exit status") {
		t.Fatalf("want a RunError without exit status, got %v", err)
	}
	s.start()

	// Idempotent: re-run once on a new connection. The server is
	// restarted while the first run waits; the redial retries until it
	// listens again.
	cfg := s.config(t)
	cfg.Retry = RetryPolicy{Attempts: 1000, Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}
	c2 := dialTest(t, cfg)
	marker := filepath.Join(t.TempDir(), "count")
	cmd := "echo x >> " + ShellQuote(marker) + "; if [ $(wc -l < " + ShellQuote(marker) + ") -lt 2 ]; then echo first; exec sleep 600; fi; echo second"
	var lines []string
	first := make(chan struct{})
	go func() {
		errc <- c2.Stream(context.Background(), cmd, func(line string, _ bool) {
			lines = append(lines, line)
			if line == "first" {
				close(first)
			}
		}, Idempotent())
	}()
	<-first
	s.stop()
	s.start()
	if err := <-errc; err != nil {
		t.Fatalf("idempotent command: %v", err)
	}
	if strings.Join(lines, ",") != "first,second" {
		t.Fatalf("lines %q", lines)
	}
	if c2.Handshakes() != 2 {
		t.Fatalf("Handshakes() = %d, want 2", c2.Handshakes())
	}
}

func TestDialRetriesUntilTheServerListens(t *testing.T) {
	requireSSHD(t)
	s := startSSHD(t, sshdOptions{})
	s.stop()
	cfg := s.config(t)
	cfg.Retry = RetryPolicy{Attempts: 1000, Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}
	failed := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	attempts := 0
	cfg.Logf = func(format string, args ...any) {
		if strings.Contains(format, "connect attempt") {
			mu.Lock()
			attempts++
			mu.Unlock()
			once.Do(func() { close(failed) })
		}
	}
	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Dial(context.Background(), cfg)
		done <- result{c, err}
	}()
	<-failed // a connect attempt failed: nothing listens yet
	s.start()
	r := <-done
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	defer r.c.Close()
	if _, err := r.c.Run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts < 1 || r.c.Handshakes() != 1 {
		t.Fatalf("attempts %d, handshakes %d", attempts, r.c.Handshakes())
	}
}

func TestDialGivesUpAfterAttemptsOrContext(t *testing.T) {
	cfg := Config{
		Host: "domU", Addr: freeAddr(t), User: "root", Password: secret.New("pw"),
		KnownHosts: []string{filepath.Join(t.TempDir(), "kh")},
		Retry:      RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond},
	}
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "domU") {
		t.Fatalf("want give-up after 3 attempts, got %v", err)
	}
	cfg.Retry = RetryPolicy{Attempts: 1 << 30, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	cfg.Logf = func(string, ...any) {
		if n++; n == 3 {
			cancel()
		}
	}
	_, err = Dial(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestKeepaliveKeepsOneConnection(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	cfg := s.config(t)
	cfg.Keepalive = 200 * time.Millisecond
	c := dialTest(t, cfg)
	for i := 0; c.keepalives.Load() < 3; i++ {
		if i == 2000 {
			t.Fatalf("only %d keepalives answered", c.keepalives.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.Run(context.Background(), "true"); err != nil || c.Handshakes() != 1 {
		t.Fatalf("after keepalives: %v, handshakes %d", err, c.Handshakes())
	}
}

func TestClosedClientRefusesCalls(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	c := dialTest(t, s.config(t))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "true"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}
