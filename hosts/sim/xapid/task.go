package xapid

import (
	"encoding/xml"
	"strings"
)

func init() {
	register("task.destroy", handler{arity: 2, noAsync: true, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		c.s.db.remove(c.obj("task", a.str(0, "self")))
		return ""
	}})
}

// startTask runs an Async.<method> call: it returns the ref of a pending
// task at once and completes the task from a goroutine, with status
// success and the result in xapi's form (an XML-RPC <value> string), or
// failure with error_info = [code, params...].
func (s *Server) startTask(c *call, method string, h handler, a args) string {
	s.db.mu.Lock()
	t := s.db.insert("task", taskRecord(method, s.hostR))
	s.db.mu.Unlock()
	tc := &call{s: s, ctx: s.ctx, session: c.session, task: t.ref}
	s.goBackground(func() {
		v, err := tc.run(h, a)
		s.db.mu.Lock()
		defer s.db.mu.Unlock()
		o, ok := s.db.objs[t.ref]
		if !ok {
			return // destroyed meanwhile
		}
		kv := map[string]any{"progress": 1.0, "finished": now()}
		if err != nil {
			kv["status"] = "failure"
			kv["error_info"] = err.Description()
		} else {
			kv["status"] = "success"
			kv["result"] = taskResult(v)
		}
		s.db.set(o, kv)
	})
	return t.ref
}

// taskResult renders a result the way xapi stores it in task.result.
func taskResult(v any) string {
	str, ok := v.(string)
	if !ok || str == "" {
		return ""
	}
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(str))
	return "<value>" + b.String() + "</value>"
}
