package xapid

import (
	"testing"
	"time"
)

// TestTaskCollection runs xapi's task collector (db_gc_util.ml
// timeout_tasks) at chosen times and counts the task records left.
func TestTaskCollection(t *testing.T) {
	s, _, sess := newTestServer(t, Options{})
	count := func() int { return len(mustCall(t, s, "task.get_all", sess).([]string)) }
	// 250 completed Async tasks.
	var tasks []string
	for range 250 {
		tasks = append(tasks, mustCall(t, s, "Async.VM.get_all", sess).(string))
	}
	for i, task := range tasks {
		for n := 0; mustCall(t, s, "task.get_status", sess, task) == "pending"; n++ {
			if n == 1000 {
				t.Fatalf("task %d still pending", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A pending task destroyed by its client: marked, removed once completed.
	s.db.mu.Lock()
	pending := s.db.insert("task", taskRecord("long", s.hostR))
	s.db.mu.Unlock()
	mustCall(t, s, "task.destroy", sess, pending.ref)
	if got := mustCall(t, s, "task.get_current_operations", sess, pending.ref).(map[string]string); got["task"] != "destroy" {
		t.Fatalf("current_operations of a destroyed pending task: %v", got)
	}
	// A pending task that never moves.
	s.db.mu.Lock()
	s.db.insert("task", taskRecord("hung", s.hostR))
	s.db.mu.Unlock()
	if n := count(); n != 252 {
		t.Fatalf("%d tasks before collection", n)
	}

	now := time.Now()
	s.collectTasks(now)
	if n := count(); n != maxTasks {
		t.Errorf("after one pass: %d tasks, want %d (the oldest completed removed)", n, maxTasks)
	}
	if mustCall(t, s, "task.get_status", sess, tasks[len(tasks)-1]) != "success" {
		t.Errorf("the newest completed task was removed")
	}
	s.db.mu.Lock()
	s.db.set(pending, map[string]any{"status": "success", "finished": now})
	s.db.mu.Unlock()
	s.collectTasks(now)
	wantErr(t, s, []string{ErrHandleInvalid, "task", pending.ref}, "task.get_status", sess, pending.ref)

	// 65 minutes later every completed task is gone; the pending one stays
	// until it has been old and still for a whole pass.
	s.collectTasks(now.Add(completedTaskTimeout + time.Minute))
	if n := count(); n != 1 {
		t.Errorf("65 minutes later: %d tasks, want the pending one", n)
	}
	s.collectTasks(now.Add(pendingTaskTimeout + time.Minute))
	if n := count(); n != 1 {
		t.Errorf("24 hours later, first pass: %d tasks, want the pending one on probation", n)
	}
	s.collectTasks(now.Add(pendingTaskTimeout + time.Minute + taskGCInterval))
	if n := count(); n != 0 {
		t.Errorf("after a pass without progress: %d tasks", n)
	}
}
