package sshd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// A Builtin is a program of the host that the simulator carries out
// itself (the switch tools, package toolfront): its file on the host
// runs the simulator's front end, which asks the simulator. A command
// line that is nothing but such a program and its arguments (plain or
// single-quoted words, no shell syntax) is carried out without a shell
// or the front end, in this process: it needs nothing of the host's
// root. What it prints and how it ends are the program's own.
type Builtin struct {
	// Run carries out argv (argv[0] the program's name) with stdin (nil
	// when ReadsStdin says it reads none).
	Run func(ctx context.Context, argv []string, stdin []byte) (stdout, stderr []byte, code int, err error)
	// ReadsStdin says whether the program reads its standard input for
	// these arguments.
	ReadsStdin func(argv []string) bool
}

// maxBuiltinStdin bounds what a builtin reads from its standard input.
const maxBuiltinStdin = 16 << 20

// simpleCommand splits a command line that is only words, each made of
// characters with no meaning to the shell and of single-quoted strings;
// ok is false for anything else (the shell then runs it).
func simpleCommand(line string) (argv []string, ok bool) {
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				argv = append(argv, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			w.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_./:=,@%+-", c) >= 0:
			w.WriteByte(c)
			inWord = true
		default:
			return nil, false
		}
	}
	if inWord {
		argv = append(argv, w.String())
	}
	// An assignment first is the shell's (VAR=x cmd).
	if len(argv) == 0 || strings.ContainsRune(argv[0], '=') || strings.ContainsRune(argv[0], '/') {
		return nil, false
	}
	return argv, true
}

// builtin finds the program argv[0] names on PATH (the command's
// environment) and returns its Builtin when the first file of that name
// on PATH is one.
func (s *Server) builtin(env []string, name string) (Builtin, bool) {
	if len(s.cfg.Builtins) == 0 {
		return Builtin{}, false
	}
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in the process's environment
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if b, ok := s.cfg.Builtins[p]; ok {
			return b, true
		}
		// Another program of that name comes first: the shell runs it.
		if st, err := os.Stat(s.seenAt(p)); err == nil && !st.IsDir() {
			return Builtin{}, false
		}
	}
	return Builtin{}, false
}

// seenAt is the file of this machine that commands see at path p: under
// IsolationMountNS the machine's own for its programs (machineMounts) and
// KeepPaths, the host's for the rest.
func (s *Server) seenAt(p string) string {
	if s.isolation != IsolationMountNS {
		return p
	}
	under := func(dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, k := range s.cfg.KeepPaths {
		if under(k) {
			return p
		}
	}
	top, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if systemDirs[top] || top == "usr" && !under("/usr/local") {
		return p
	}
	return s.HostPath(p)
}

// runBuiltin carries out a builtin command for the session and reports
// how it ended.
func (ss *session) runBuiltin(b Builtin, argv []string) exitStatus {
	var stdin []byte
	if b.ReadsStdin != nil && b.ReadsStdin(argv) {
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(ss.ch, maxBuiltinStdin)); err != nil {
			fmt.Fprintf(ss.ch.Stderr(), "%s: read stdin: %v\n", argv[0], err)
			return exitStatus{code: 1}
		}
		stdin = buf.Bytes()
	}
	stdout, stderr, code, err := b.Run(ss.ctx, argv, stdin)
	if err != nil {
		stderr = append(stderr, fmt.Sprintf("%s: %v\n", argv[0], err)...)
		code = 1
	}
	_, _ = ss.ch.Write(stdout)
	_, _ = ss.ch.Stderr().Write(stderr)
	return exitStatus{code: code}
}
