// Package toolfront gives a simulated host programs that the simulator
// itself carries out: a command a host's shell runs (ovs-vsctl in dom0,
// say) is a small file in a directory on the host's PATH whose first line
// makes the kernel run the simulator's own executable as its interpreter;
// that copy (the front end, which init below runs before main) sends its
// argv, and stdin where the tool reads it, over a unix socket to a Server
// in the simulator, prints what the Server answers and exits with its
// status. No interpreter starts per command (the python3 front end this
// replaces cost about 8 ms of CPU a call, this one about 5).
//
// To give a host a tool: Serve a socket, Install the tools' names into a
// directory, and put the directory on the host's PATH and, under the
// simulator's own-root isolation, both directories in the host's
// KeepPaths (sshd.Config). The ovs package does this for ovs-vsctl,
// ovs-ofctl and ovs-appctl.
//
// The protocol is length-prefixed, so any argument and any stdin pass
// unchanged: a request is "<n>\n", then n times "<len>\n<argument>"
// (argv[0] is the tool's name), then "<len>\n<stdin>"; the answer is
// "<code> <len stdout> <len stderr>\n<stdout><stderr>", then EOF.
package toolfront

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is what a tool printed and how it ended.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Handler carries out one tool command line (argv[0] is the tool's name).
// An error is printed by the front end as "<tool>: <error>", exit 1.
type Handler func(ctx context.Context, argv []string, stdin []byte) (Result, error)

// Stdin says when a tool's front end sends its standard input.
type Stdin int

const (
	// StdinNever: the tool reads no input (the front end never waits on
	// a terminal or pipe it was given).
	StdinNever Stdin = iota
	// StdinIfDash: when one argument is "-" (ovs-ofctl add-flows br -).
	StdinIfDash
	// StdinAlways: every call sends it, to EOF.
	StdinAlways
)

// Tool is one program Install writes.
type Tool struct {
	Name  string
	Stdin Stdin
}

// ReadsStdin says whether the tool's front end sends its standard input
// for these arguments (argv without the tool's name).
func (t Tool) ReadsStdin(args []string) bool {
	return t.Stdin == StdinAlways || t.Stdin == StdinIfDash && contains(args, "-")
}

// Bounds on one request.
const (
	maxRequest     = 16 << 20 // argv and stdin, bytes
	maxArgs        = 1 << 16
	requestTimeout = 2 * time.Minute
)

// exeName is the simulator's executable inside an Install directory.
const exeName = ".xenlab-sim-tool"

// marker is the interpreter argument of a tool's first line: the
// executable run with it as its first argument is a front end.
const marker = "--xenlab-sim-tool-front-end"

// maxShebang is the longest first line Linux reads (BINPRM_BUF_SIZE).
const maxShebang = 255

func init() {
	if len(os.Args) >= 3 && os.Args[1] == marker {
		// syscall.Exit, not os.Exit: a race-enabled binary (a test's,
		// under -race) sleeps a second in os.Exit (GORACE's
		// atexit_sleep_ms), which every tool call would pay. The front
		// end writes straight to its file descriptors: nothing to flush.
		syscall.Exit(runFront(os.Args[2], os.Args[3:]))
	}
}

// Server serves a Handler to the front ends over a unix socket.
type Server struct {
	ln     net.Listener
	h      Handler
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Serve listens on sock (a path of at most 107 bytes, replaced if there)
// and carries out each request with h, until Close.
func Serve(sock string, h Handler) (*Server, error) {
	if len(sock) > 107 {
		return nil, fmt.Errorf("tool socket path %s is %d bytes, longer than a unix socket allows (107)", sock, len(sock))
	}
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("listen for tools on %s: %w", sock, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, h: h, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
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

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	var r Result
	argv, stdin, err := ReadRequest(bufio.NewReader(io.LimitReader(c, maxRequest)))
	if err != nil || len(argv) == 0 {
		r = Result{Stderr: []byte("xenlab-sim: malformed tool request\n"), ExitCode: 1}
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
		res, err := s.h(ctx, argv, stdin)
		cancel()
		if err != nil {
			r = Result{Stderr: []byte(fmt.Sprintf("%s: %v\n", filepath.Base(argv[0]), err)), ExitCode: 1}
		} else {
			r = res
		}
	}
	_, _ = fmt.Fprintf(c, "%d %d %d\n%s%s", r.ExitCode, len(r.Stdout), len(r.Stderr), r.Stdout, r.Stderr)
}

// Close stops accepting, cancels the requests in flight and waits for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.cancel()
	s.wg.Wait()
	return err
}

// ReadRequest reads one request.
func ReadRequest(r *bufio.Reader) (argv []string, stdin []byte, err error) {
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

// AppendRequest appends the request for argv and stdin to b.
func AppendRequest(b []byte, argv []string, stdin []byte) []byte {
	b = strconv.AppendInt(b, int64(len(argv)), 10)
	b = append(b, '\n')
	for _, a := range argv {
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\n')
		b = append(b, a...)
	}
	b = strconv.AppendInt(b, int64(len(stdin)), 10)
	b = append(b, '\n')
	return append(b, stdin...)
}

// Install makes dir hold tools that reach the Server on sock: the
// simulator's executable (a hard link where dir's file system allows, else
// a copy) and one file per tool naming it as interpreter. Run from a host,
// dir and sock's directory must be reachable at these paths.
func Install(dir, sock string, tools []Tool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create tool directory: %w", err)
	}
	exe := filepath.Join(dir, exeName)
	line := "#!" + exe + " " + marker
	if len(line) > maxShebang {
		return fmt.Errorf("tool directory %s: its path is too long for a program's first line (%d bytes, at most %d)", dir, len(line), maxShebang)
	}
	if err := linkSelf(exe); err != nil {
		return fmt.Errorf("tool directory %s: %w", dir, err)
	}
	for _, t := range tools {
		if t.Name == "" || strings.ContainsAny(t.Name, "/\n") {
			return fmt.Errorf("tool name %q", t.Name)
		}
		content := fmt.Sprintf("%s\n# A tool of this simulated host, carried out by the simulator (package toolfront).\ntool=%s\nsocket=%s\nstdin=%d\n", line, t.Name, sock, t.Stdin)
		if err := os.WriteFile(filepath.Join(dir, t.Name), []byte(content), 0o755); err != nil {
			return fmt.Errorf("write tool %s: %w", t.Name, err)
		}
	}
	return nil
}

// linkSelf puts this program's executable at path.
func linkSelf(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	_ = os.Remove(path)
	if err := os.Link(self, path); err == nil {
		return nil
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	return out.Close()
}

// front is what a tool file says.
type front struct {
	tool, socket string
	stdin        Stdin
}

func readFront(path string) (front, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return front{}, err
	}
	var f front
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "tool":
			f.tool = v
		case "socket":
			f.socket = v
		case "stdin":
			n, _ := strconv.Atoi(v)
			f.stdin = Stdin(n)
		}
	}
	if f.tool == "" || f.socket == "" {
		return front{}, errors.New("not a tool file (no tool= or socket= line)")
	}
	return f, nil
}

// runFront is the front end: it returns the tool's exit status.
func runFront(file string, args []string) int {
	f, err := readFront(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(file), err)
		return 1
	}
	var stdin []byte
	if (Tool{Name: f.tool, Stdin: f.stdin}).ReadsStdin(args) {
		if stdin, err = io.ReadAll(io.LimitReader(os.Stdin, maxRequest)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: read stdin: %v\n", f.tool, err)
			return 1
		}
	}
	req := AppendRequest(nil, append([]string{f.tool}, args...), stdin)
	answer, err := roundTrip(f.socket, req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot reach this host's %s at %s (%v)\n", f.tool, f.tool, f.socket, err)
		return 1
	}
	head, rest, _ := strings.Cut(string(answer), "\n")
	var code, nout, nerr int
	if n, _ := fmt.Sscanf(head, "%d %d %d", &code, &nout, &nerr); n != 3 || code < 0 || nout < 0 || nerr < 0 || len(rest) != nout+nerr {
		fmt.Fprintf(os.Stderr, "%s: the simulator at %s gave no answer\n", f.tool, f.socket)
		return 1
	}
	_, _ = os.Stdout.WriteString(rest[:nout])
	_, _ = os.Stderr.WriteString(rest[nout:])
	return code
}

func contains(args []string, s string) bool {
	for _, a := range args {
		if a == s {
			return true
		}
	}
	return false
}

// roundTrip sends req on a new connection to sock and reads the answer to
// EOF.
func roundTrip(sock string, req []byte) ([]byte, error) {
	c, err := net.DialTimeout("unix", sock, requestTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(c, maxRequest+64))
}
