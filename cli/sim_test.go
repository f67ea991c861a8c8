package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
)

// TestSimServe runs `xenlab sim serve --dir DIR` until it prints its
// endpoints, checks that the lab file it wrote validates and holds no
// secret, and that cancelling (what SIGTERM does) stops it with exit 0.
func TestSimServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"sim", "serve", "--dir", dir, "--version", "7.1", "--ovs", "model", "--quiet"},
			IO{In: strings.NewReader(""), Out: pw, Err: &stderr})
		pw.Close()
	}()

	lines := make(chan string, 1)
	go func() {
		var ep json.RawMessage
		if err := json.NewDecoder(pr).Decode(&ep); err == nil {
			lines <- string(ep)
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	var line string
	select {
	case line = <-lines:
	case code := <-done:
		t.Fatalf("sim serve exited %d before printing its endpoints: %s", code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("sim serve printed nothing within a minute")
	}
	var ep sim.Endpoints
	if err := json.Unmarshal([]byte(line), &ep); err != nil {
		t.Fatalf("endpoints line %q: %v", line, err)
	}
	if !strings.HasPrefix(ep.XAPIURL, "https://127.") || ep.Dom0SSH == "" || ep.XAPIFingerprint == "" {
		t.Fatalf("endpoints incomplete: %+v", ep)
	}
	pw2, err := os.ReadFile(ep.PasswordFile)
	if err != nil || len(pw2) == 0 {
		t.Fatalf("password file %s: %v", ep.PasswordFile, err)
	}
	if strings.Contains(line, string(pw2)) || strings.Contains(stderr.String(), string(pw2)) {
		t.Fatal("sim serve printed the root password")
	}
	if code, _, errOut := run(t, "", false, "validate", "-f", ep.LabFile); code != ExitOK {
		t.Fatalf("the lab file sim serve wrote does not validate: %s", errOut)
	}

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("sim serve exited %d after SIGTERM: %s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("sim serve did not stop within a minute of cancellation")
	}
}
