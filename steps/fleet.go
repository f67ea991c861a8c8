package steps

import (
	"xenlab/hosts"
	"xenlab/localrc"
	"xenlab/provision"
)

// Fleet returns the bring-up of every host of a lab as one graph. With one
// host the steps keep their names; with several, each step is named
// "<host>/<step>" and depends only on its own host's steps, so the engine
// brings the hosts up in parallel.
func Fleet(lab *localrc.Config, hs []*hosts.Host, opts ...Option) []provision.Step {
	if len(hs) == 1 {
		return BringUp(lab, hs[0], opts...)
	}
	var all []provision.Step
	for _, h := range hs {
		for _, s := range BringUp(lab, h, opts...) {
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

func (o onHost) Name() string { return o.host + "/" + o.Step.Name() }

func (o onHost) Deps() []string {
	deps := o.Step.Deps()
	out := make([]string, len(deps))
	for i, d := range deps {
		out[i] = o.host + "/" + d
	}
	return out
}
