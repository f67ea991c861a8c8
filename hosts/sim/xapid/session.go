package xapid

import (
	"crypto/subtle"
	"time"
)

func init() {
	login := handler{arity: 2, maxArity: 4, noSession: true, noAsync: true, fn: (*call).login}
	register("session.login_with_password", login)
	register("session.slave_local_login_with_password", handler{arity: 2, noSession: true, noAsync: true, fn: (*call).login})
	register("session.logout", handler{arity: 1, noAsync: true, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		if o, err := c.s.db.get("session", c.session); err == nil {
			c.s.db.remove(o)
		}
		delete(c.s.rt.eventRegs, c.session)
		c.s.trimNext() // what only this session still had to read
		return ""
	}})
	register("session.local_logout", methods["session.logout"])
	register("session.get_all_subject_identifiers", handler{arity: 1, fn: func(c *call, a args) any { return []string{} }})
}

// login is session.login_with_password(uname, pwd[, version, originator]):
// SESSION_AUTHENTICATION_FAILED [user, message] after a delay on a wrong
// user or password.
func (c *call) login(a args) any {
	user, pw := a.str(0, "uname"), a.str(1, "pwd")
	originator := ""
	if len(a) == 4 {
		originator = a.str(3, "originator")
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(c.s.opts.User)) == 1
	okPw := subtle.ConstantTimeCompare([]byte(pw), []byte(c.s.opts.Password)) == 1
	if (!okUser || !okPw) && !preauth(c.ctx) { // the local socket is trusted (local.go)
		if d := c.s.opts.AuthFailDelay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
			}
		}
		fail(ErrSessionAuthenticationFailed, user, "Authentication failure")
	}
	c.s.db.mu.Lock()
	defer c.s.db.mu.Unlock()
	rec := sessionRecord(c.s.hostR, user, originator)
	return c.s.db.insert("session", rec).ref
}

// checkSession is xapi's session check: SESSION_INVALID [ref].
func (s *Server) checkSession(ref string) *APIError {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if _, err := s.db.get("session", ref); err != nil {
		return apiErr(ErrSessionInvalid, ref)
	}
	return nil
}
