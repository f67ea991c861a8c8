package toolfront

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// TestReadRequest reads requests as the front end writes them: empty and
// non-UTF-8 arguments and stdin with newlines pass unchanged; a truncated
// or oversized request is refused.
func TestReadRequest(t *testing.T) {
	argv := []string{"ovs-vsctl", "", "\xff\xfe", "a\nb"}
	req := AppendRequest(nil, argv, []byte("x=1\ny\n"))
	if string(req) != "4\n9\novs-vsctl0\n2\n\xff\xfe3\na\nb6\nx=1\ny\n" {
		t.Fatalf("request %q", req)
	}
	got, stdin, err := ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil || !slices.Equal(got, argv) || string(stdin) != "x=1\ny\n" {
		t.Fatalf("argv %q stdin %q err %v", got, stdin, err)
	}
	for _, bad := range []string{"", "1\n9\novs", "1\n-1\n", "99999999\n", "1\n3\nabc\n", "x\n"} {
		if _, _, err := ReadRequest(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("request %q accepted", bad)
		}
	}
}

// TestFrontEnd runs installed tools from a shell: this test binary is
// their interpreter (init runs the front end). Arguments, stdin (only
// where the tool reads it), output, exit codes and the handler's errors
// pass through; the front end starts no other program.
func TestFrontEnd(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "t.sock")
	var calls atomic.Int64
	srv, err := Serve(sock, func(ctx context.Context, argv []string, stdin []byte) (Result, error) {
		calls.Add(1)
		switch strings.Join(argv[1:], " ") {
		case "fail":
			return Result{}, errors.New("broken")
		case "exit":
			return Result{Stdout: []byte("out\n"), Stderr: []byte("err\n"), ExitCode: 3}, nil
		}
		return Result{Stdout: []byte(strings.Join(argv, "|") + "#" + string(stdin) + "\n")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	bin := filepath.Join(dir, "bin")
	if err := Install(bin, sock, []Tool{{Name: "echo-tool"}, {Name: "dash-tool", Stdin: StdinIfDash}, {Name: "all-tool", Stdin: StdinAlways}}); err != nil {
		t.Fatal(err)
	}
	sh := func(script, stdin string) (string, int) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	for _, c := range []struct {
		script, stdin, out string
		code               int
	}{
		{"echo-tool a 'b c' ''", "ignored", "echo-tool|a|b c|#\n", 0},
		{"dash-tool x", "ignored", "dash-tool|x#\n", 0},
		{"dash-tool x -", "in\n", "dash-tool|x|-#in\n\n", 0},
		{"all-tool", "all", "all-tool#all\n", 0},
		{"echo-tool exit", "", "out\nerr\n", 3},
		{"echo-tool fail", "", "echo-tool: broken\n", 1},
	} {
		if out, code := sh(c.script, c.stdin); out != c.out || code != c.code {
			t.Errorf("%s: %q exit %d, want %q exit %d", c.script, out, code, c.out, c.code)
		}
	}
	if n := calls.Load(); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
	srv.Close()
	if out, code := sh("echo-tool a", ""); code != 1 || !strings.Contains(out, "cannot reach this host's echo-tool") {
		t.Errorf("with the server gone: %q exit %d", out, code)
	}
	if _, err := os.Stat(filepath.Join(bin, exeName)); err != nil {
		t.Error(err)
	}
}
