package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// PlannedStep is one step's answer to Check.
type PlannedStep struct {
	Name string
	Host string   // the step's host in a fleet; "" otherwise
	Deps []string // steps of the same host
	Done bool     // Check says the work is already done
	// ReadOnly: the step's Apply only reads and checks (Node.ReadOnly),
	// so it runs on every Apply and is not a change pending.
	ReadOnly bool
	Err      error // Check failed (a *StepError), or the plan was interrupted first
	// Changes are the differences Check reported (ReportChanges) between
	// the lab file and the host, as Apply will make them.
	Changes []Change
}

// PlanResult is what Apply would do, step by step, in dependency order.
type PlanResult struct {
	Steps []PlannedStep
}

// Pending returns the steps with work to do (not done, or Check failed),
// leaving out the read-only steps whose Check succeeded, by their labels
// (see [Label]).
func (p *PlanResult) Pending() []string {
	var names []string
	for _, s := range p.Steps {
		if !s.Done && (!s.ReadOnly || s.Err != nil) {
			names = append(names, Label(s.Host, s.Name))
		}
	}
	return names
}

// WriteText writes the plan as a table: step, what Apply would do, deps.
func (p *PlanResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tACTION\tDEPENDS ON")
	seen := map[string]string{} // a check failure's text -> the first step it failed
	for _, s := range p.Steps {
		action := "apply"
		switch {
		case s.Err != nil:
			msg := s.Err.Error()
			var se *StepError
			if errors.As(s.Err, &se) {
				msg = se.Host + "\x00" + se.Op + "\x00" + fmt.Sprint(se.Err)
			}
			if first, ok := seen[msg]; ok {
				action = "unknown: the same check failure as " + first
			} else {
				seen[msg] = Label(s.Host, s.Name)
				action = "unknown: " + s.Err.Error()
			}
		case s.Done:
			action = "none (already done)"
		case s.ReadOnly:
			action = "check (reads only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", Label(s.Host, s.Name), action, strings.Join(s.Deps, ", "))
	}
	fmt.Fprintf(tw, "%d of %d steps have work to do\n", len(p.Pending()), len(p.Steps))
	return tw.Flush()
}

// Plan asks every step, in dependency order (independent ones in parallel),
// whether its work is already done. It only reads: no Apply or Destroy runs
// and no events are emitted. The error joins every Check failure (as
// *StepError) and, if ctx ended, wraps ctx.Err(); the result is complete
// either way.
func (e *Engine) Plan(ctx context.Context) (*PlanResult, error) {
	steps := make([]PlannedStep, len(e.g.nodes))
	for i, n := range e.g.nodes {
		steps[i] = PlannedStep{Name: e.g.names[i], Host: e.hostName(i), Deps: n.Step.Deps(), ReadOnly: n.ReadOnly}
	}
	e.g.walk(ctx, false, e.bounds(), walkFuncs{
		run: func(ctx context.Context, i int) outcome {
			s := e.g.nodes[i].Step
			ctx, changes := withChanges(ctx)
			err := e.retry(ctx, i, nil, nil, func(ctx context.Context, _ int) error {
				changes.reset()
				var err error
				steps[i].Done, err = s.Check(ctx)
				return err
			})
			steps[i].Changes = changes.all()
			if err != nil {
				steps[i].Done = false
				steps[i].Err = &StepError{Step: e.g.names[i], Host: e.g.nodes[i].Host, Op: "check", Err: err}
			}
			return outcomeOK
		},
		skip: func(int, int) {},
		notStarted: func(i int) {
			steps[i].Err = fmt.Errorf("not checked: %w", interrupted(ctx, PhasePlan))
		},
	})
	res := &PlanResult{}
	var errs []error
	if ctx.Err() != nil {
		errs = append(errs, interrupted(ctx, PhasePlan))
	}
	var failed []*StepError
	for _, i := range e.g.order {
		res.Steps = append(res.Steps, steps[i])
		var se *StepError
		if errors.As(steps[i].Err, &se) {
			failed = append(failed, se)
		}
	}
	return res, errors.Join(append(errs, sameErrorsOnce(failed)...)...)
}

// sameErrorsOnce says each failure once: the checks of one host that failed
// with the same error (a refused login, an unreachable host) become the
// first step's error, naming the others.
func sameErrorsOnce(failed []*StepError) []error {
	type key struct{ host, op, msg string }
	var order []key
	first := map[key]*StepError{}
	others := map[key][]string{}
	for _, se := range failed {
		k := key{se.Host, se.Op, fmt.Sprint(se.Err)}
		if _, ok := first[k]; !ok {
			first[k] = se
			order = append(order, k)
			continue
		}
		others[k] = append(others[k], se.Step)
	}
	var out []error
	for _, k := range order {
		if o := others[k]; len(o) > 0 {
			out = append(out, fmt.Errorf("%w (the same for %s)", first[k], strings.Join(o, ", ")))
		} else {
			out = append(out, first[k])
		}
	}
	return out
}
