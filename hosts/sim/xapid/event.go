package xapid

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("event.from", handler{arity: 4, noAsync: true, fn: (*call).eventFrom})
	register("event.get_current_id", handler{arity: 1, noAsync: true, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		return c.s.db.eventID
	}})
}

// subscription is event.from's class filter: "*", class names (any case)
// or "class/ref".
type subscription struct {
	all     bool
	classes map[string]bool
	objects map[string]bool // "class/ref"
}

func newSubscription(list []string) subscription {
	sub := subscription{classes: map[string]bool{}, objects: map[string]bool{}}
	for _, c := range list {
		c = strings.ToLower(c)
		switch {
		case c == "*":
			sub.all = true
		case strings.Contains(c, "/"):
			class, ref, _ := strings.Cut(c, "/")
			sub.objects[class+"/"+ref] = true
		default:
			sub.classes[c] = true
		}
	}
	return sub
}

func (sub subscription) match(class, ref string) bool {
	class = strings.ToLower(class)
	return sub.all || sub.classes[class] || sub.objects[class+"/"+strings.ToLower(ref)]
}

// eventFrom is event.from(classes, token, timeout): with token "" the
// current objects as add events; otherwise the changes after the token,
// the latest per object, waiting up to timeout seconds for one. It returns
// xapi's struct {events, valid_ref_counts, token}.
func (c *call) eventFrom(a args) any {
	sub := newSubscription(a.strSet(0, "classes"))
	token := a.str(1, "token")
	timeout := a.float(2, "timeout")
	d := c.s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	if token == "" {
		var evs []any
		for _, o := range d.allObjects() {
			if sub.match(o.class, o.ref) {
				evs = append(evs, eventStruct(event{id: d.eventID, ts: time.Now(), class: strings.ToLower(o.class),
					op: "add", ref: o.ref, snapshot: d.record(o)}))
			}
		}
		return c.s.fromResult(sub, evs)
	}
	since, err := strconv.ParseInt(token, 10, 64)
	if err != nil {
		fail("EVENT_FROM_TOKEN_PARSE_FAILURE", token)
	}
	if len(d.events) > 0 && since < d.events[0].id-1 {
		fail("EVENTS_LOST")
	}
	timeout = min(max(timeout, 0), 24*3600) // a day at most: no Duration overflow
	deadline := time.Now().Add(time.Duration(timeout * float64(time.Second)))
	for {
		last := map[string]int{}
		var picked []event
		for _, e := range d.events {
			if e.id <= since || !sub.match(e.class, e.ref) {
				continue
			}
			if i, ok := last[e.ref]; ok {
				picked[i].id = -1 // superseded by this later event
			}
			last[e.ref] = len(picked)
			picked = append(picked, e)
		}
		var evs []any
		for _, e := range picked {
			if e.id >= 0 {
				evs = append(evs, eventStruct(e))
			}
		}
		wait := time.Until(deadline)
		if len(evs) > 0 || wait <= 0 {
			return c.s.fromResult(sub, evs)
		}
		if !c.waitChange(d, wait) {
			return c.s.fromResult(sub, nil)
		}
	}
}

// waitChange releases the database lock (held by the caller) until the
// database changes or wait passes, and takes it again. It reports false
// when the call or the server ended meanwhile.
func (c *call) waitChange(d *db, wait time.Duration) bool {
	changed := d.changed
	d.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-changed:
	case <-t.C:
	case <-c.ctx.Done():
	case <-c.s.ctx.Done():
	}
	t.Stop()
	d.mu.Lock()
	return c.ctx.Err() == nil && c.s.ctx.Err() == nil
}

func (s *Server) fromResult(sub subscription, evs []any) map[string]any {
	counts := map[string]any{}
	for _, o := range s.db.objs { // counting needs no order
		cl := strings.ToLower(o.class)
		if sub.all || sub.classes[cl] {
			n, _ := counts[cl].(int64)
			counts[cl] = n + 1
		}
	}
	if evs == nil {
		evs = []any{}
	}
	return map[string]any{"events": evs, "valid_ref_counts": counts, "token": strconv.FormatInt(s.db.eventID, 10)}
}

func eventStruct(e event) map[string]any {
	return map[string]any{
		"id":        strconv.FormatInt(e.id, 10),
		"timestamp": fmt.Sprintf("%d.%06d", e.ts.Unix(), e.ts.Nanosecond()/1000),
		"class":     e.class, "operation": e.op, "ref": e.ref, "snapshot": e.snapshot,
	}
}

// allObjects returns every object in creation order.
func (d *db) allObjects() []*object {
	out := make([]*object, 0, len(d.objs))
	for _, o := range d.objs {
		out = append(out, o)
	}
	sortBySeq(out)
	return out
}
