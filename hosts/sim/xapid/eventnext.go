package xapid

import (
	"slices"
	"strings"
	"time"
)

// The legacy event API: event.register(classes), event.next() and
// event.unregister(classes), per session. event.next blocks until an
// event of a registered class happens and returns the array of events.

func init() {
	register("event.register", handler{arity: 2, noAsync: true, fn: func(c *call, a args) any {
		classes := a.strSet(0, "classes")
		c.s.withDB(func() {
			r := c.s.eventReg(c.session, true)
			for _, cl := range classes {
				r.classes = append(r.classes, strings.ToLower(cl))
			}
		})
		return ""
	}})
	register("event.unregister", handler{arity: 2, noAsync: true, fn: func(c *call, a args) any {
		classes := a.strSet(0, "classes")
		c.s.withDB(func() {
			r := c.s.eventReg(c.session, false)
			if r == nil {
				return
			}
			var keep []string
			for _, cl := range r.classes {
				if !slices.Contains(classes, cl) {
					keep = append(keep, cl)
				}
			}
			r.classes = keep
		})
		return ""
	}})
	register("event.next", handler{arity: 1, noAsync: true, fn: (*call).eventNext})
}

// eventRegistration is one session's event.register state.
type eventRegistration struct {
	classes []string
	cursor  int64 // last event id returned
}

// wantNext says whether a registered session wants the events of an
// object; only those are queued for event.next (as xapi's Next.add). The
// caller holds the db lock.
func (s *Server) wantNext(class, ref string) bool {
	for _, r := range s.rt.eventRegs {
		if newSubscription(r.classes).match(class, ref) {
			return true
		}
	}
	return false
}

// trimNext drops the queued events that no registered session still has
// to read. The caller holds the db lock.
func (s *Server) trimNext() {
	low := s.db.eventID
	for _, r := range s.rt.eventRegs {
		low = min(low, r.cursor)
	}
	i := 0
	for i < len(s.db.next) && s.db.next[i].id <= low {
		s.db.nextBytes -= s.db.next[i].size
		i++
	}
	if i > 0 {
		s.db.next = slices.Clone(s.db.next[i:])
	}
}

// eventReg returns the session's registration; the caller holds the db lock.
func (s *Server) eventReg(session string, create bool) *eventRegistration {
	if s.rt.eventRegs == nil {
		s.rt.eventRegs = map[string]*eventRegistration{}
	}
	r := s.rt.eventRegs[session]
	if r == nil && create {
		r = &eventRegistration{cursor: s.db.eventID}
		s.rt.eventRegs[session] = r
	}
	return r
}

// eventNext is event.next: SESSION_NOT_REGISTERED [session] without a
// registration; EVENTS_LOST when the log no longer holds the cursor.
func (c *call) eventNext(a args) any {
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		r := c.s.eventReg(c.session, false)
		if r == nil {
			fail("SESSION_NOT_REGISTERED", c.session)
		}
		if r.cursor < d.nextLost {
			r.cursor = d.eventID
			fail("EVENTS_LOST")
		}
		sub := newSubscription(r.classes)
		var out []any
		for _, e := range d.next {
			if e.id > r.cursor && sub.match(e.class, e.ref) {
				m := eventStruct(e)
				m["obj_uuid"], _ = e.snapshot["uuid"].(string)
				out = append(out, m)
			}
		}
		r.cursor = d.eventID
		c.s.trimNext()
		if len(out) > 0 {
			return out
		}
		if !c.waitChange(d, time.Minute) {
			return []any{}
		}
	}
}
