package xapid

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
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
// current objects as add events; otherwise, as xapi's from_inner, every
// object created or changed after the token with its current record (add
// if created after it, else mod) and the deletions after it (without a
// snapshot), waiting up to timeout seconds for one. It returns xapi's
// struct {events, valid_ref_counts, token}.
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
		return c.s.fromResult(evs)
	}
	since, ok := parseToken(token)
	if !ok {
		fail("EVENT_FROM_TOKEN_PARSE_FAILURE", token)
	}
	timeout = min(max(timeout, 0), 24*3600) // a day at most: no Duration overflow
	deadline := time.Now().Add(time.Duration(timeout * float64(time.Second)))
	for {
		var picked []event
		for _, o := range d.objs {
			if o.modified > since && sub.match(o.class, o.ref) {
				op := "mod"
				if o.created > since {
					op = "add"
				}
				picked = append(picked, event{id: o.modified, ts: o.mtime, class: strings.ToLower(o.class), op: op, ref: o.ref})
			}
		}
		for class, dels := range d.deleted {
			for _, t := range dels {
				if t.deleted <= since {
					break // newest first
				}
				if t.created <= since && sub.match(class, t.ref) {
					picked = append(picked, event{id: t.deleted, ts: t.ts, class: strings.ToLower(class), op: "del", ref: t.ref})
				}
			}
		}
		slices.SortFunc(picked, func(x, y event) int { return cmp.Compare(x.id, y.id) })
		var evs []any
		for _, e := range picked {
			if e.op != "del" {
				e.snapshot = d.record(d.objs[e.ref])
			}
			evs = append(evs, eventStruct(e))
		}
		wait := time.Until(deadline)
		if len(evs) > 0 || wait <= 0 {
			return c.s.fromResult(evs)
		}
		if !c.waitChange(d, wait) {
			return c.s.fromResult(nil)
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

// fromResult is event.from's answer as xapi_event.ml from_inner builds it
// (xen-api tags XS62 and v1.249.0): valid_ref_counts has every table of
// the database, subscribed or not and empty ones included (the simulator
// has the classes it serves), each an int32, sent as <int>; the token is
// Token.to_string: the generation and the message generation, each
// zero-padded to 20 digits ("%020Ld,%020Ld"), so tokens compare as
// strings. The simulator has no messages: the second is 0.
func (s *Server) fromResult(evs []any) map[string]any {
	counts := map[string]any{}
	for class := range classes {
		counts[strings.ToLower(class)] = xmlrpc.Int(len(s.db.byClass[class]))
	}
	if evs == nil {
		evs = []any{}
	}
	return map[string]any{"events": evs, "valid_ref_counts": counts, "token": formatToken(s.db.eventID)}
}

func formatToken(generation int64) string { return fmt.Sprintf("%020d,%020d", generation, 0) }

// parseToken is xapi's Token.of_string: "<generation>,<message
// generation>", each an OCaml Int64.of_string (decimal here; leading
// zeros are digits). "" is handled by the caller.
func parseToken(token string) (int64, bool) {
	gen, msg, ok := strings.Cut(token, ",")
	if !ok || strings.Contains(msg, ",") {
		return 0, false
	}
	g, err1 := strconv.ParseInt(gen, 10, 64)
	_, err2 := strconv.ParseInt(msg, 10, 64)
	return g, err1 == nil && err2 == nil && g >= 0
}

// eventStruct is an event on the wire; an event without a snapshot (a
// deletion seen by event.from) has no snapshot member, as xapi's.
func eventStruct(e event) map[string]any {
	m := map[string]any{
		"id":        strconv.FormatInt(e.id, 10),
		"timestamp": fmt.Sprintf("%d.%06d", e.ts.Unix(), e.ts.Nanosecond()/1000),
		"class":     e.class, "operation": e.op, "ref": e.ref,
	}
	if e.snapshot != nil {
		m["snapshot"] = e.snapshot
	}
	return m
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
