package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImportBoundedInput: `localrc import` of what is no localrc ends with
// a clear error and exit 2, reading at most localrc.MaxLocalrcSize bytes
// and quoting none of it: /dev/zero (a device), a FIFO with no writer (the
// open does not block), a 500,000-line file (over the size), a symlink
// loop, /etc/shadow's shape, and /dev/zero on stdin. validate -f on a
// symlink loop is exit 2 like every other lab-file error.
func TestImportBoundedInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := writeFile(t, dir, "big", strings.Repeat("A=b\n", 500_000))
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	shadow := writeFile(t, dir, "shadow", "root:$6$Zq9salt$hashhashhash:19000:0:99999:7:::\n"+
		"daemon:*:19000:0:99999:7:::\nstack:$6$pepper$Yp4secretHash:19000:0:99999:7:::\n")
	cases := []struct {
		name   string
		args   []string
		errHas string
	}{
		{"dev zero", []string{"localrc", "import", "/dev/zero"}, "/dev/zero cannot be imported: it is a character device, not a regular file"},
		{"fifo", []string{"localrc", "import", fifo}, "cannot be imported: it is a named pipe (FIFO), not a regular file"},
		{"500k lines", []string{"localrc", "import", big}, "cannot be imported: it is 2000000 bytes, more than 1 MiB"},
		{"symlink loop", []string{"localrc", "import", loop}, "too many levels of symbolic links"},
		{"not a localrc", []string{"localrc", "import", shadow}, "not a localrc"},
		{"validate symlink loop", []string{"validate", "-f", loop}, "Unreadable lab file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.args[2] == "/dev/zero" {
				if _, err := os.Stat("/dev/zero"); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			code, stdout, stderr := runBounded(t, strings.NewReader(""), c.args...)
			if code != ExitUsage || !strings.Contains(stderr, c.errHas) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, ExitUsage, c.errHas, stderr)
			}
			for _, secret := range []string{"Zq9salt", "hashhash", "Yp4secret", "daemon"} {
				if strings.Contains(stderr+stdout, secret) {
					t.Errorf("the output quotes the file (%q):\n%s%s", secret, stdout, stderr)
				}
			}
		})
	}
	t.Run("validate endless stdin", func(t *testing.T) {
		var r countingReader
		code, _, stderr := runBounded(t, &r, "validate", "-f", "-")
		if code != ExitUsage || !strings.Contains(stderr, "more than 1 MiB on stdin") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("endless stdin", func(t *testing.T) {
		var r countingReader
		code, _, stderr := runBounded(t, &r, "localrc", "import", "-")
		if code != ExitUsage || !strings.Contains(stderr, "more than 1 MiB on stdin") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if r.n > 1<<20+64<<10 {
			t.Errorf("read %d bytes of an endless stdin; want about 1 MiB", r.n)
		}
	})
}

// runBounded is run with stdin from r, failing the test (rather than
// hanging it) if the command blocks: every case must end by itself.
func runBounded(t *testing.T, r io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuilder
	done := make(chan int, 1)
	go func() { done <- Main(context.Background(), args, IO{In: r, Out: &out, Err: &errb}) }()
	select {
	case code = <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a speed check
		t.Fatalf("xenlab %s blocked", strings.Join(args, " "))
	}
	return code, out.String(), errb.String()
}

// countingReader is an endless stream of zeros that counts what was read.
type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	clear(p)
	c.n += len(p)
	return len(p), nil
}

// TestImportStdinHonoursCtrlC: a stdin that never delivers (a pipe whose
// writer waits) gives way to Ctrl-C: exit 130 at once.
func TestImportStdinHonoursCtrlC(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"localrc", "import", "-"}, IO{In: pr, Out: io.Discard, Err: &errb})
	}()
	cancel(SignalCause(syscall.SIGINT))
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Fatalf("exit %d, want %d: %s", code, ExitInterrupted, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("import from a silent stdin ignored Ctrl-C")
	}
}
