package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"xenlab/provision"
	"xenlab/secret"
	"xenlab/steps"
)

// newPlan is `xenlab plan`: what `up` would do, step by step, touching
// nothing. With --detailed-exitcode it exits as terraform's plan does: 0
// nothing to do, 2 changes pending, 1 an error (of any kind).
func newPlan(io IO) *cobra.Command {
	var lab labFlags
	var detailed bool
	c := &cobra.Command{
		Use:   "plan",
		Short: "show what `up` would do, step by step, touching nothing",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, true)
			if err != nil {
				return err
			}
			defer l.close()
			eng, err := provision.New(steps.Fleet(l.cfg, l.hosts), provision.Options{StepTimeout: l.flags.timeout(l.cfg), Clock: io.Clock})
			if err != nil {
				return err
			}
			plan, err := eng.Plan(c.Context())
			if werr := writePlan(io, lab.json, plan, l.secrets()); werr != nil && err == nil {
				err = werr
			}
			if err != nil {
				return l.scrub(err)
			}
			if detailed && len(plan.Pending()) > 0 {
				return exitError{code: ExitPending}
			}
			return nil
		},
	}
	lab.register(c)
	c.Flags().BoolVar(&detailed, "detailed-exitcode", false,
		"exit 0 when there is nothing to do, 2 when changes are pending, 1 on any error")
	return c
}

// jsonPlan is `plan --json`: one line of kind "plan".
type jsonPlan struct {
	Kind    string         `json:"kind"` // always "plan"
	Steps   []jsonPlanStep `json:"steps"`
	Pending []string       `json:"pending"` // the steps with work to do
}

type jsonPlanStep struct {
	Name      string       `json:"name"`
	Host      string       `json:"host,omitempty"` // in a fleet
	Action    string       `json:"action"`         // apply, none (already done), check (a read-only step) or unknown (Check failed)
	DependsOn []string     `json:"depends_on"`
	Error     string       `json:"error,omitempty"`
	Changes   []jsonChange `json:"changes,omitempty"` // what differs from the lab file, and how up makes it
}

// jsonChange is one provision.Change.
type jsonChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
	How   string `json:"how"` // in place, domU stopped, domU rebuilt, stack.sh again
	Cost  string `json:"cost,omitempty"`
}

// writeChanges lists each step's changes under the plan's table, as
// Terraform marks them: ~ in place, ! with domU stopped, -/+ rebuilt,
// ~ again for stack.sh.
func writeChanges(w io.Writer, plan *provision.PlanResult) error {
	n := 0
	for _, s := range plan.Steps {
		n += len(s.Changes)
	}
	if n == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\n%d change(s) from the lab file, as up will make them:\n", n); err != nil {
		return err
	}
	for _, s := range plan.Steps {
		for _, c := range s.Changes {
			mark := "~"
			switch c.How {
			case provision.DomUStopped:
				mark = "!"
			case provision.DomURebuilt:
				mark = "-/+"
			}
			if _, err := fmt.Fprintf(w, "  %-3s %s: %s\n", mark, provision.Label(s.Host, s.Name), c); err != nil {
				return err
			}
		}
	}
	return nil
}

// writePlan writes the plan as text or one JSON line, with the lab's
// secrets scrubbed from what the steps said (a Check's error, a change's
// values), as every view of a run is (scrubRenderer).
func writePlan(io IO, asJSON bool, plan *provision.PlanResult, secrets []secret.Secret) error {
	if !asJSON {
		var b bytes.Buffer
		if err := plan.WriteText(&b); err != nil {
			return err
		}
		if err := writeChanges(&b, plan); err != nil {
			return err
		}
		_, err := io.Out.Write([]byte(secret.Scrub(b.String(), secrets...)))
		return err
	}
	scrub := func(s string) string { return secret.Scrub(s, secrets...) }
	out := jsonPlan{Kind: "plan", Pending: plan.Pending()}
	if out.Pending == nil {
		out.Pending = []string{}
	}
	for _, s := range plan.Steps {
		js := jsonPlanStep{Name: s.Name, Host: s.Host, Action: "apply", DependsOn: s.Deps}
		switch {
		case s.Err != nil:
			js.Action, js.Error = "unknown", scrub(s.Err.Error())
		case s.Done:
			js.Action = "none"
		case s.ReadOnly:
			js.Action = "check"
		}
		if js.DependsOn == nil {
			js.DependsOn = []string{}
		}
		for _, c := range s.Changes {
			js.Changes = append(js.Changes, jsonChange{Field: c.Field, From: scrub(c.From), To: scrub(c.To), How: string(c.How), Cost: c.Cost})
		}
		out.Steps = append(out.Steps, js)
	}
	return json.NewEncoder(io.Out).Encode(out)
}
