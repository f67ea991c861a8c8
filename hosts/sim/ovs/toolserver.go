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

// toolRequest is what a BinDir tool sends: one JSON line.
type toolRequest struct {
	Argv  []string `json:"argv"`
	Stdin []byte   `json:"stdin"` // base64 in JSON
}

// toolResponse is the switch's answer, one JSON object, then EOF.
type toolResponse struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
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
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadBytes('\n')
	if err != nil {
		return
	}
	var req toolRequest
	var resp toolResponse
	if err := json.Unmarshal(line, &req); err != nil || len(req.Argv) == 0 {
		resp = toolResponse{Stderr: []byte("ovs: malformed tool request\n"), Code: 1}
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
		r, err := s.exec(ctx, req.Argv, req.Stdin)
		cancel()
		if err != nil {
			resp = toolResponse{Stderr: []byte(fmt.Sprintf("%s: %v\n", filepath.Base(req.Argv[0]), err)), Code: 1}
		} else {
			resp = toolResponse{Stdout: r.Stdout, Stderr: r.Stderr, Code: r.ExitCode}
		}
	}
	_ = json.NewEncoder(c).Encode(resp)
}

// close stops accepting, cancels requests in flight and waits for them.
func (s *toolServer) close() error {
	err := s.ln.Close()
	s.cancel()
	s.wg.Wait()
	return err
}
