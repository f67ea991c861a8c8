package xapid

import (
	"encoding/xml"
	"maps"
	"slices"
	"strings"
	"time"
)

func init() {
	// task.create(label, description) as xapi_task.ml's create: a pending
	// task of this host, owned by the session, that its creator completes
	// or destroys (xen-api ocaml/idl/datamodel.ml, class task).
	register("task.create", handler{arity: 3, noAsync: true, fn: func(c *call, a args) any {
		label, desc := a.str(0, "label"), a.str(1, "description")
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		rec := taskRecord(label, c.s.hostR)
		rec["name_description"] = desc
		return c.s.db.insert("task", rec).ref
	}})
	// task.destroy as xapi_task.ml's destroy: a completed task goes at
	// once; a pending one gets "destroy" in current_operations and the
	// task collector removes it when it has completed.
	register("task.destroy", handler{arity: 2, noAsync: true, fn: func(c *call, a args) any {
		c.s.db.mu.Lock()
		defer c.s.db.mu.Unlock()
		t := c.obj("task", a.str(0, "self"))
		if t.fields["status"] != "pending" {
			c.s.db.remove(t)
			return ""
		}
		cur := maps.Clone(t.fields["current_operations"].(map[string]string))
		cur["task"] = "destroy"
		c.s.db.set(t, map[string]any{"current_operations": cur})
		return ""
	}})
}

// Task collection as xapi's db_gc runs it (xen-api ocaml/xapi/db_gc.ml,
// db_gc_util.ml timeout_tasks, xapi_globs.ml): every 30 s, completed
// tasks marked for destruction go; completed tasks finished more than
// 65 minutes ago go; pending tasks created more than 24 hours ago go when
// their progress did not move since the previous pass; and if more than
// 200 tasks remain, the completed ones that finished first go until 200
// remain (pending tasks are never removed for the count).
const (
	taskGCInterval       = 30 * time.Second
	completedTaskTimeout = 65 * time.Minute
	pendingTaskTimeout   = 24 * time.Hour
	maxTasks             = 200
)

// startTaskGC runs collectTasks every taskGCInterval until Close.
func (s *Server) startTaskGC() {
	s.goBackground(func() {
		t := time.NewTicker(taskGCInterval)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				s.collectTasks(time.Now())
			}
		}
	})
}

// collectTasks is one pass of the task collector at time now; it returns
// how many tasks it removed.
func (s *Server) collectTasks(now time.Time) int {
	d := s.db
	d.mu.Lock()
	defer d.mu.Unlock()
	var gone, young, completed []*object
	probation := map[string]float64{}
	for _, t := range d.all("task") {
		done := t.fields["status"] != "pending"
		switch {
		case done && t.fields["current_operations"].(map[string]string)["task"] == "destroy":
			gone = append(gone, t)
		case done && t.fields["finished"].(time.Time).Before(now.Add(-completedTaskTimeout)):
			gone = append(gone, t)
		case !done && t.fields["created"].(time.Time).Before(now.Add(-pendingTaskTimeout)):
			progress, _ := t.fields["progress"].(float64)
			if before, seen := s.rt.taskProbation[t.ref]; seen && progress <= before {
				gone = append(gone, t) // hung: no progress since the last pass
			} else {
				young = append(young, t)
			}
			probation[t.ref] = progress
		default:
			young = append(young, t)
			if done {
				completed = append(completed, t)
			}
		}
	}
	s.rt.taskProbation = probation
	if over := len(young) - maxTasks; over > 0 {
		slices.SortStableFunc(completed, func(a, b *object) int {
			return a.fields["finished"].(time.Time).Compare(b.fields["finished"].(time.Time))
		})
		gone = append(gone, completed[:min(over, len(completed))]...)
	}
	for _, t := range gone {
		d.remove(t)
	}
	return len(gone)
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
