package sshd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real OpenSSH client logging in with a password, with no terminal:
// the password reaches ssh through an SSH_ASKPASS script, never argv.

// askpass writes a script that answers every prompt with password and
// appends the prompt it was asked to a log, so a test can count prompts.
func askpass(t *testing.T, password string) (script, prompts string) {
	t.Helper()
	if strings.ContainsAny(password, "'\n") {
		t.Fatal("askpass: the password must not contain a quote or newline")
	}
	dir := t.TempDir()
	script = filepath.Join(dir, "askpass")
	prompts = filepath.Join(dir, "prompts")
	body := "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '" + prompts + "'\nprintf '%s\\n' '" + password + "'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, prompts
}

// passwordSSH runs ssh as user with password authentication only, the
// password coming from an askpass script. ssh runs in its own session with
// stdin from /dev/null, so it has no terminal to prompt on.
func (h *testHost) passwordSSH(t *testing.T, user, password, command string) (runResult, []string) {
	t.Helper()
	sshBin := needTool(t, "ssh")
	script, promptLog := askpass(t, password)
	_, port, err := net.SplitHostPort(h.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-F", "/dev/null",
		"-p", port,
		"-o", "PreferredAuthentications=password",
		"-o", "PasswordAuthentication=yes",
		"-o", "PubkeyAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no",
		"-o", "NumberOfPasswordPrompts=1",
		"-o", "BatchMode=no",
		"-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + h.knownHostsFile(t),
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout=20",
		"-o", "LogLevel=ERROR",
		user + "@127.0.0.1", command,
	}
	for _, a := range args {
		if strings.Contains(a, password) {
			t.Fatalf("the password would appear in ssh's arguments: %q", a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshBin, args...)
	cmd.Env = append(envWithout(os.Environ(), "SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY"),
		"SSH_ASKPASS="+script, "SSH_ASKPASS_REQUIRE=force")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	cmd.Stdin = nil                                      // /dev/null
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ssh: %v (stderr %q)", err, errb.String())
	}
	var prompts []string
	if data, err := os.ReadFile(promptLog); err == nil {
		prompts = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return runResult{out.String(), errb.String(), cmd.ProcessState.ExitCode()}, prompts
}

// envWithout drops the named variables from env.
func envWithout(env []string, names ...string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			kept = append(kept, kv)
		}
	}
	return kept
}

func TestOpenSSHPasswordRunsCommand(t *testing.T) {
	h := startHost(t, "", nil)
	r, prompts := h.passwordSSH(t, "root", testPassword, "echo ok; exit 5")
	if r.code != 5 || r.stdout != "ok\n" {
		t.Fatalf("code %d stdout %q stderr %q, want exit 5 and ok", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr %q, want none", r.stderr)
	}
	if len(prompts) != 1 || !strings.Contains(prompts[0], "password") {
		t.Errorf("askpass prompts %q, want one password prompt", prompts)
	}
	if got := h.srv.Handshakes(); got != 1 {
		t.Errorf("handshakes %d, want 1", got)
	}
}

func TestOpenSSHWrongPasswordRefused(t *testing.T) {
	h := startHost(t, "", nil)
	for _, tc := range []struct{ name, user, password string }{
		{"wrong", "root", "not-" + testPassword},
		{"another user's", "stack", testPassword},
		{"unknown user", "nobody", testPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.srv.Handshakes()
			r, prompts := h.passwordSSH(t, tc.user, tc.password, "echo should-not-run")
			if r.code != 255 || strings.Contains(r.stdout, "should-not-run") {
				t.Fatalf("code %d stdout %q stderr %q, want 255 and nothing run", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "Permission denied") {
				t.Errorf("stderr %q does not say permission denied", r.stderr)
			}
			// The refusal came after a password was really tried.
			if len(prompts) != 1 {
				t.Errorf("askpass prompts %q, want exactly one", prompts)
			}
			if got := h.srv.Handshakes(); got != before {
				t.Errorf("handshakes %d after a refused password, want %d", got, before)
			}
		})
	}
}
