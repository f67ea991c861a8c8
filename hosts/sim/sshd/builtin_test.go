package sshd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestSimpleCommand(t *testing.T) {
	for line, want := range map[string][]string{
		"ovs-vsctl br-exists xenbr0":                 {"ovs-vsctl", "br-exists", "xenbr0"},
		"  ovs-vsctl\t--timeout=10  set Port 'a b' ": {"ovs-vsctl", "--timeout=10", "set", "Port", "a b"},
		"ovs-vsctl ''":                           {"ovs-vsctl", ""},
		"ovs-vsctl x'y'z other_config:a=b,c@d%+": {"ovs-vsctl", "xyz", "other_config:a=b,c@d%+"},
		"ovs-vsctl a; rm -rf /":                  nil,
		"ovs-vsctl $HOME":                        nil,
		"ovs-vsctl \"a\"":                        nil,
		"ovs-vsctl a | cat":                      nil,
		"ovs-vsctl a > f":                        nil,
		"ovs-vsctl 'unterminated":                nil,
		"ovs-vsctl a\nb":                         nil,
		"X=1 ovs-vsctl":                          nil,
		"/usr/bin/ovs-vsctl show":                nil,
		"ovs-vsctl *":                            nil,
		"ovs-vsctl ~":                            nil,
		"! ovs-vsctl":                            nil,
		"":                                       nil,
	} {
		got, ok := simpleCommand(line)
		if ok != (want != nil) || !slices.Equal(got, want) {
			t.Errorf("simpleCommand(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

// A command line that is only a Builtin and its arguments is carried out
// by it, with no shell: its output, exit code and standard input (when
// it reads it) pass as the program's would; its error is printed as the
// front end prints it. A command with shell syntax, or a program of the
// same name earlier on PATH, runs through the shell.
func TestBuiltinRunsWithoutShell(t *testing.T) {
	for _, iso := range isolations(t) {
		t.Run(string(iso), func(t *testing.T) {
			bin := t.TempDir()
			other := t.TempDir()
			tool := filepath.Join(bin, "tool")
			// The front end a shell would run: it says so.
			if err := os.WriteFile(tool, []byte("#!/bin/sh\necho front-end \"$@\"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(other, "tool2"), []byte("#!/bin/sh\necho other\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var runs atomic.Int64
			b := Builtin{
				Run: func(ctx context.Context, argv []string, stdin []byte) ([]byte, []byte, int, error) {
					runs.Add(1)
					switch argv[1] {
					case "fail":
						return nil, nil, 0, errors.New("broken")
					case "exit":
						return []byte("out\n"), []byte("err\n"), 3, nil
					}
					return []byte(strings.Join(argv, "|") + "#" + string(stdin) + "\n"), nil, 0, nil
				},
				ReadsStdin: func(argv []string) bool { return slices.Contains(argv, "-") },
			}
			h := startHost(t, iso, func(c *Config) {
				c.Env = []string{"PATH=" + other + ":" + bin}
				c.KeepPaths = []string{bin, other}
				c.Builtins = map[string]Builtin{tool: b, filepath.Join(bin, "tool2"): b}
			})
			c := h.rootClient(t)
			run := func(cmd, stdin string) (string, int) {
				s := mustSession(t, c)
				if stdin != "" {
					// Only where the command reads it: a client's write
					// to a command that already ended fails (x/crypto/ssh
					// then reports EOF), builtin or not.
					s.Stdin = strings.NewReader(stdin)
				}
				var out, errb strings.Builder
				s.Stdout, s.Stderr = &out, &errb
				err := s.Run(cmd)
				var ee *ssh.ExitError
				if errors.As(err, &ee) {
					return out.String() + errb.String(), ee.ExitStatus()
				} else if err != nil {
					t.Fatalf("%s: %v (%q)", cmd, err, out.String()+errb.String())
				}
				return out.String() + errb.String(), 0
			}
			for _, tc := range []struct {
				cmd, stdin, out string
				code            int
			}{
				{"tool a 'b c'", "", "tool|a|b c#\n", 0},
				{"tool a -", "in", "tool|a|-#in\n", 0},
				{"tool exit", "", "out\nerr\n", 3},
				{"tool fail", "", "tool: broken\n", 1},
				{"tool a; true", "", "front-end a\n", 0},
				{"tool2 a", "", "other\n", 0}, // other's tool2 comes first on PATH
			} {
				if out, code := run(tc.cmd, tc.stdin); out != tc.out || code != tc.code {
					t.Errorf("%s: %q exit %d, want %q exit %d", tc.cmd, out, code, tc.out, tc.code)
				}
			}
			if n := runs.Load(); n != 4 {
				t.Errorf("the builtin ran %d times, want 4", n)
			}
		})
	}
}
