package xapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xenlab/hosts/xapi/xmlrpc"
)

// Async starts "Async.<method>" and returns its task, for WaitTask.
func (c *Client) Async(ctx context.Context, method string, params ...any) (Ref, error) {
	return c.callRef(ctx, "Async."+method, params...)
}

// TaskGetRecord returns a task record.
func (c *Client) TaskGetRecord(ctx context.Context, task Ref) (TaskRecord, error) {
	return getRecord[TaskRecord](ctx, c, "task", task)
}

// TaskCancel asks xapi to cancel a task.
func (c *Client) TaskCancel(ctx context.Context, task Ref) error {
	return c.callVoid(ctx, "task.cancel", task)
}

// TaskDestroy removes a finished task.
func (c *Client) TaskDestroy(ctx context.Context, task Ref) error {
	return c.callVoid(ctx, "task.destroy", task)
}

// WaitTask waits, on task events rather than sleeps, until task leaves
// pending, and returns its result (an XML-RPC <value>, see
// ParseTaskResult). It subscribes to this task's events only and reads
// the task from their snapshots, so waiting costs only the event.from
// calls. A failed task returns an *Error made from its error_info; a
// cancelled one an *Error with TASK_CANCELLED.
func (c *Client) WaitTask(ctx context.Context, task Ref) (string, error) {
	var rec TaskRecord
	first := true
	err := c.WaitFor(ctx, []string{"task/" + string(task)}, func(ctx context.Context, events []Event) (bool, error) {
		seen := false
		for _, ev := range events {
			if ev.Ref != task {
				continue
			}
			if ev.Operation == "del" {
				return false, fmt.Errorf("xapi: task %s was destroyed while waiting for it", task)
			}
			if err := rec.UnmarshalXAPI(ev.Snapshot); err != nil {
				return false, c.shapeErr("event.from", err)
			}
			seen = true
		}
		if first && !seen {
			// event.from("") lists the task if it exists; read it anyway,
			// so a missing task fails with xapi's own HANDLE_INVALID.
			r, err := c.TaskGetRecord(ctx, task)
			if err != nil {
				return false, err
			}
			rec = r
		}
		first = false
		return rec.Status != TaskPending && rec.Status != TaskCancelling, nil
	})
	if err != nil {
		return "", err
	}
	switch rec.Status {
	case TaskSuccess:
		return rec.Result, nil
	case TaskCancelled:
		return "", &Error{Code: CodeTaskCancelled, Params: []string{string(task)}, Method: rec.NameLabel}
	default:
		e := &Error{Method: rec.NameLabel}
		if len(rec.ErrorInfo) > 0 {
			e.Code, e.Params = rec.ErrorInfo[0], rec.ErrorInfo[1:]
		}
		c.vmTransition(ctx, e)
		if rec.Status != TaskFailure && e.Code == "" {
			e.Code = "TASK_" + rec.Status
		}
		return "", e
	}
}

// RunAsync runs "Async.<method>", waits for its task, destroys the task and
// returns the decoded result (a reference is a string).
func (c *Client) RunAsync(ctx context.Context, method string, params ...any) (any, error) {
	task, err := c.Async(ctx, method, params...)
	if err != nil {
		return nil, err
	}
	result, err := c.WaitTask(ctx, task)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = c.TaskDestroy(dctx, task) // best effort: the result is what matters
	if err != nil {
		return nil, err
	}
	return ParseTaskResult(result)
}

// ParseTaskResult decodes a task's result, which xapi stores as an
// XML-RPC <value> ("" for none).
func ParseTaskResult(result string) (any, error) {
	trimmed := strings.TrimSpace(result)
	if trimmed == "" {
		return nil, nil
	}
	if !strings.HasPrefix(trimmed, "<") {
		return result, nil // a bare value, as some xapi versions store it
	}
	v, err := xmlrpc.UnmarshalResponse([]byte("<methodResponse><params><param>" + result + "</param></params></methodResponse>"))
	if err != nil {
		return nil, fmt.Errorf("xapi: task result: %w", err)
	}
	return v, nil
}
