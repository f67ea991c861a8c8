package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"xenlab/provision"
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
			if werr := writePlan(io, lab.json, plan); werr != nil && err == nil {
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
	Name      string   `json:"name"`
	Host      string   `json:"host,omitempty"` // in a fleet
	Action    string   `json:"action"`         // apply, none (already done), check (a read-only step) or unknown (Check failed)
	DependsOn []string `json:"depends_on"`
	Error     string   `json:"error,omitempty"`
}

func writePlan(io IO, asJSON bool, plan *provision.PlanResult) error {
	if !asJSON {
		return plan.WriteText(io.Out)
	}
	out := jsonPlan{Kind: "plan", Pending: plan.Pending()}
	if out.Pending == nil {
		out.Pending = []string{}
	}
	for _, s := range plan.Steps {
		js := jsonPlanStep{Name: s.Name, Host: s.Host, Action: "apply", DependsOn: s.Deps}
		switch {
		case s.Err != nil:
			js.Action, js.Error = "unknown", s.Err.Error()
		case s.Done:
			js.Action = "none"
		case s.ReadOnly:
			js.Action = "check"
		}
		if js.DependsOn == nil {
			js.DependsOn = []string{}
		}
		out.Steps = append(out.Steps, js)
	}
	return json.NewEncoder(io.Out).Encode(out)
}
