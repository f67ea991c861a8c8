package cli

import (
	"xenlab/provision"
	"xenlab/secret"
)

// scrubRenderer passes a run's events to r with the lab's secrets scrubbed
// from their text (secret.Scrub, every encoding it knows): a step's output
// line may be a log of domU that echoes a password, and the terminal, the
// JSON lines and the step logs a failed run collects all show events.
// It forwards Begin and BeginLanes, which the engine looks for on its
// renderer, so wrapping hides nothing r does.
type scrubRenderer struct {
	r       provision.Renderer
	secrets []secret.Secret
}

func (s scrubRenderer) Event(ev provision.Event) {
	ev.Line = secret.Scrub(ev.Line, s.secrets...)
	ev.Err = secret.Scrub(ev.Err, s.secrets...)
	s.r.Event(ev)
}

func (s scrubRenderer) Begin(phase provision.Phase, steps []string) {
	if b, ok := s.r.(provision.PhaseStarter); ok {
		b.Begin(phase, steps)
	}
}

func (s scrubRenderer) BeginLanes(phase provision.Phase, lanes []provision.Lane) {
	provision.BeginLanes(s.r, phase, lanes)
}

func (s scrubRenderer) Close(rep *provision.Report) error {
	return s.r.Close(scrubReport(rep, s.secrets))
}

// scrubReport is a copy of rep whose output lines, reasons and errors
// have the secrets scrubbed (errors wrapped, so errors.Is, errors.As and
// the exit code they give are unchanged): what the JSON summary and the
// JUnit file are written from.
func scrubReport(rep *provision.Report, secrets []secret.Secret) *provision.Report {
	if rep == nil {
		return nil
	}
	out := *rep
	out.Err = scrubErr(rep.Err, secrets)
	out.Steps = scrubResults(rep.Steps, secrets)
	out.Cleanup = scrubResults(rep.Cleanup, secrets)
	if rep.Hosts != nil {
		out.Hosts = append([]provision.HostResult(nil), rep.Hosts...)
		for i := range out.Hosts {
			out.Hosts[i].Err = scrubErr(out.Hosts[i].Err, secrets)
		}
	}
	return &out
}

func scrubResults(rs []provision.StepResult, secrets []secret.Secret) []provision.StepResult {
	if rs == nil {
		return nil
	}
	out := append([]provision.StepResult(nil), rs...)
	for i := range out {
		r := &out[i]
		r.Err = scrubErr(r.Err, secrets)
		r.Reason = secret.Scrub(r.Reason, secrets...)
		lines := make([]string, len(r.Output))
		for j, l := range r.Output {
			lines[j] = secret.Scrub(l, secrets...)
		}
		r.Output = lines
	}
	return out
}

func scrubErr(err error, secrets []secret.Secret) error {
	if err == nil {
		return nil
	}
	return scrubbed{err: err, secrets: secrets}
}
