package sshd

import (
	"context"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// session is one "session" channel: at most one exec, shell or subsystem.
type session struct {
	srv  *Server
	user string
	ch   ssh.Channel

	ctx    context.Context // cancelled when the channel closes or the server stops
	cancel context.CancelFunc

	env     []string // accepted "env" requests (only touched by serve)
	mu      sync.Mutex
	started bool
	proc    *process
	done    sync.WaitGroup
}

func newSession(s *Server, user string, ch ssh.Channel) *session {
	ctx, cancel := context.WithCancel(s.ctx)
	return &session{srv: s, user: user, ch: ch, ctx: ctx, cancel: cancel}
}

// serve answers the channel's requests until the channel closes, then
// kills whatever the session still runs and waits for it.
func (ss *session) serve(reqs <-chan *ssh.Request) {
	defer func() {
		ss.cancel() // kills the command's process group
		ss.done.Wait()
		ss.ch.Close()
	}()
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				return
			}
			ok, after := ss.handle(req)
			if req.WantReply {
				req.Reply(ok, nil)
			}
			if after != nil {
				ss.done.Add(1)
				go func() {
					defer ss.done.Done()
					after()
				}()
			}
		case <-ss.ctx.Done():
			// Server closing: close the channel so the client sees it,
			// then keep draining until the requests channel closes.
			ss.ch.Close()
			for req := range reqs {
				if req.WantReply {
					req.Reply(false, nil)
				}
			}
			return
		}
	}
}

// handle answers one request; a non-nil func is run once the reply is
// sent (the command or subsystem the request started).
func (ss *session) handle(req *ssh.Request) (bool, func()) {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &kv) != nil || !envAllowed(kv.Name) {
			return false, nil
		}
		ss.env = append(ss.env, kv.Name+"="+kv.Value)
		return true, nil
	case "exec":
		var cmd struct{ Command string }
		if ssh.Unmarshal(req.Payload, &cmd) != nil || !ss.begin() {
			return false, nil
		}
		env := slices.Clone(ss.env)
		return true, func() { ss.start(cmd.Command, false, env) }
	case "shell":
		if !ss.begin() {
			return false, nil
		}
		env := slices.Clone(ss.env)
		return true, func() { ss.start("", true, env) }
	case "subsystem":
		var sub struct{ Name string }
		if ssh.Unmarshal(req.Payload, &sub) != nil || sub.Name != "sftp" || !ss.begin() {
			return false, nil
		}
		return true, ss.serveSFTP
	case "signal":
		var sig struct{ Signal string }
		if ssh.Unmarshal(req.Payload, &sig) != nil {
			return false, nil
		}
		ss.mu.Lock()
		p := ss.proc
		ss.mu.Unlock()
		return p != nil && p.signal(sig.Signal) == nil, nil
	default:
		// pty-req, x11-req, auth-agent-req@openssh.com, window-change,
		// xon-xoff: refused; clients carry on without them.
		return false, nil
	}
}

// envAllowed is the allowlist of client-sent variables, as Debian's sshd
// AcceptEnv.
func envAllowed(name string) bool {
	return name == "LANG" || strings.HasPrefix(name, "LC_")
}

// begin marks the session as running something; only one exec, shell or
// subsystem per channel.
func (ss *session) begin() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.started {
		return false
	}
	ss.started = true
	return true
}

// finish ends the channel as OpenSSH does: EOF, exit status, close.
func (ss *session) finish(st exitStatus) {
	ss.ch.CloseWrite()
	if st.signal != "" {
		ss.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: st.signal, CoreDumped: st.core}))
	} else {
		ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(st.code)}))
	}
	ss.ch.Close()
}
