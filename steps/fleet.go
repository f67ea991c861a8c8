package steps

import (
	"context"

	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// Fleet returns the bring-up of every host of a lab as one graph. With one
// host the steps keep their names; with several, each step is named
// "<host>/<step>", depends only on its own host's steps and is
// provision.Hosted, so the engine brings the hosts up in parallel, each
// with its own bound, and reports each host on its own.
func Fleet(lab *localrc.Config, hs []*hosts.Host, opts ...Option) []provision.Step {
	return fleetOf(hs, func(h *hosts.Host) []provision.Step { return BringUp(lab, h, opts...) })
}

// ResetFleet returns the reset of every host of a lab as one graph, named
// as Fleet names the bring-up's steps.
func ResetFleet(lab *localrc.Config, hs []*hosts.Host) []provision.Step {
	return fleetOf(hs, func(h *hosts.Host) []provision.Step { return Reset(lab, h) })
}

// fleetOf joins each host's graph into one.
func fleetOf(hs []*hosts.Host, graph func(*hosts.Host) []provision.Step) []provision.Step {
	if len(hs) == 1 {
		// The step names do not carry the host: its errors do, once.
		var all []provision.Step
		for _, s := range graph(hs[0]) {
			all = append(all, hostErrs{Step: s, host: hs[0].Name()})
		}
		return all
	}
	var all []provision.Step
	for _, h := range hs {
		for _, s := range graph(h) {
			all = append(all, onHost{Step: s, host: h.Name()})
		}
	}
	return all
}

// onHost renames a step and its dependencies after its host.
type onHost struct {
	provision.Step
	host string
}

// ReadOnly passes the wrapped step's provision.ReadOnly through.
func (o onHost) ReadOnly() bool {
	r, ok := o.Step.(provision.ReadOnly)
	return ok && r.ReadOnly()
}

// Host puts the step on its host for the engine (provision.Hosted): each
// host gets its own parallelism and its own report.
func (o onHost) Host() string { return o.host }

func (o onHost) Name() string { return o.host + "/" + o.Step.Name() }

func (o onHost) Deps() []string {
	deps := o.Step.Deps()
	out := make([]string, len(deps))
	for i, d := range deps {
		out[i] = o.host + "/" + d
	}
	return out
}

// hostErrs names its host in the errors of a step whose name does not.
type hostErrs struct {
	provision.Step
	host string
}

// ReadOnly passes the wrapped step's provision.ReadOnly through.
func (h hostErrs) ReadOnly() bool {
	r, ok := h.Step.(provision.ReadOnly)
	return ok && r.ReadOnly()
}

func (h hostErrs) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &hostError{host: h.host, err: err}
}

func (h hostErrs) Check(ctx context.Context) (bool, error) {
	done, err := h.Step.Check(ctx)
	return done, h.wrap(err)
}

func (h hostErrs) Apply(ctx context.Context, out provision.Output) error {
	return h.wrap(h.Step.Apply(ctx, out))
}

func (h hostErrs) Destroy(ctx context.Context, out provision.Output) error {
	return h.wrap(h.Step.Destroy(ctx, out))
}

// hostError is an error prefixed with its host's name; errors.Is and As
// (and provision.IsTransient) see through it.
type hostError struct {
	host string
	err  error
}

func (e *hostError) Error() string { return "host " + e.host + ": " + e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }
