package ovs

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed toolclient.py
var toolClientPy string

// toolNames are the executables BinDir holds.
var toolNames = []string{"ovs-vsctl", "ovs-ofctl", "ovs-appctl"}

// maxRequest bounds one tool request (argv and stdin) in bytes.
const maxRequest = 16 << 20

// requestTimeout bounds how long one connection may take.
const requestTimeout = 2 * time.Minute

// maxArgs bounds the arguments of one tool request.
const maxArgs = 1 << 16

// The BinDir tools speak a small length-prefixed protocol (see
// toolclient.py), so that the client needs no module beyond Python's
// built-in ones: a request is "<n>\n" then n times "<len>\n<argument>",
// then "<len>\n<stdin>"; the answer is "<code> <len stdout> <len
// stderr>\n<stdout><stderr>", then EOF.

// readToolRequest reads one request.
func readToolRequest(r *bufio.Reader) (argv []string, stdin []byte, err error) {
	readLen := func(limit int) (int, error) {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(strings.TrimSuffix(line, "\n"))
		if err != nil || n < 0 || n > limit {
			return 0, fmt.Errorf("bad length %q", line)
		}
		return n, nil
	}
	readBytes := func() ([]byte, error) {
		n, err := readLen(maxRequest)
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	n, err := readLen(maxArgs)
	if err != nil {
		return nil, nil, err
	}
	for range n {
		b, err := readBytes()
		if err != nil {
			return nil, nil, err
		}
		argv = append(argv, string(b))
	}
	stdin, err = readBytes()
	return argv, stdin, err
}

// toolServer serves a Switch's Exec to the BinDir tools over a unix socket.
type toolServer struct {
	ln     net.Listener
	exec   func(ctx context.Context, argv []string, stdin []byte) (Result, error)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startToolServer listens on sock and writes the tools into binDir.
func startToolServer(sock, binDir string, execFn func(context.Context, []string, []byte) (Result, error)) (*toolServer, error) {
	if len(sock) > 107 {
		return nil, fmt.Errorf("tool socket path %s is %d bytes, longer than a unix socket allows (107)", sock, len(sock))
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, fmt.Errorf("create tool directory: %w", err)
	}
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listen for tools on %s: %w", sock, err)
	}
	if err := writeTools(sock, binDir); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &toolServer{ln: ln, exec: execFn, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func writeTools(sock, binDir string) error {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if p, err := exec.LookPath("python3"); err == nil {
			py = p
		}
	}
	quoted, _ := json.Marshal(sock)
	script := strings.Replace(toolClientPy, "__PYTHON__", py, 1)
	script = strings.Replace(script, "__SOCK__", string(quoted), 1)
	for _, name := range toolNames {
		if err := os.WriteFile(filepath.Join(binDir, name), []byte(script), 0o755); err != nil {
			return fmt.Errorf("write tool %s: %w", name, err)
		}
	}
	return nil
}

func (s *toolServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *toolServer) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	var r Result
	argv, stdin, err := readToolRequest(bufio.NewReader(io.LimitReader(c, maxRequest)))
	if err != nil || len(argv) == 0 {
		r = Result{Stderr: []byte("ovs: malformed tool request\n"), ExitCode: 1}
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
		res, err := s.exec(ctx, argv, stdin)
		cancel()
		if err != nil {
			r = Result{Stderr: []byte(fmt.Sprintf("%s: %v\n", filepath.Base(argv[0]), err)), ExitCode: 1}
		} else {
			r = res
		}
	}
	_, _ = fmt.Fprintf(c, "%d %d %d\n%s%s", r.ExitCode, len(r.Stdout), len(r.Stderr), r.Stdout, r.Stderr)
}

// close stops accepting, cancels requests in flight and waits for them.
func (s *toolServer) close() error {
	err := s.ln.Close()
	s.cancel()
	s.wg.Wait()
	return err
}
