package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newStatus is `xenlab status`: the walk-through's view of the lab, read
// (only read) from each host: the lab's networks and their bridges, dom0's
// switch cut to the lab's bridges with the VLAN-4095 placeholder marked,
// domU's power state and IP, and domU's integration bridge (its
// int-br-eth1 port, the flow that maps the segment to the local VLAN, the
// ports on it). --json gives one line of kind "status" per host.
func newStatus(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "status",
		Short: "show the walk-through's view: networks, dom0 bridges (the 4095 port), domU's br-int uplink and VLAN flow",
		Args:  args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			if err := l.requireUp(c.Context(), c); err != nil {
				return l.scrub(err)
			}
			// A host that cannot be read does not hide the others: they
			// are shown, and the error names every host that failed.
			var reports []*steps.StatusReport
			var failed []string
			var errs []error
			for _, h := range l.hosts {
				r, err := steps.Status(c.Context(), l.cfg, h)
				if err != nil {
					failed = append(failed, h.Name())
					errs = append(errs, fmt.Errorf("host %s: %w", h.Name(), err))
					continue
				}
				reports = append(reports, r)
			}
			if err := writeStatus(io, lab.json, reports); err != nil {
				return err
			}
			switch {
			case len(errs) == 1 && len(l.hosts) == 1:
				return l.scrub(errs[0])
			case len(errs) > 0:
				return l.scrub(fmt.Errorf("%d of %d hosts failed (%s): %w",
					len(failed), len(l.hosts), strings.Join(failed, ", "), errors.Join(errs...)))
			}
			return nil
		},
	}
	lab.register(c)
	return c
}

// writeStatus prints the hosts' reports: with --json one line per host
// of kind "status", as up's closing view and every other event are
// (docs/events.schema.json), else text.
func writeStatus(io IO, asJSON bool, reports []*steps.StatusReport) error {
	if len(reports) == 0 {
		return nil
	}
	if asJSON {
		e := json.NewEncoder(io.Out)
		for _, r := range reports {
			if err := e.Encode(statusLine{Kind: "status", Status: r}); err != nil {
				return err
			}
		}
		return nil
	}
	return writeStatusText(io, reports)
}

// writeStatusText writes the reports as text: drawn for a terminal when a
// person watches one (io.Progress), plain otherwise.
func writeStatusText(io IO, reports []*steps.StatusReport) error {
	style := steps.Plain
	if io.Progress {
		style = steps.TTY
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		if err := r.WriteText(io.Out, style); err != nil {
			return err
		}
	}
	return nil
}

// statusLine is the JSON line of one host's status at the end of an up.
type statusLine struct {
	Kind   string              `json:"kind"` // always "status"
	Status *steps.StatusReport `json:"status"`
}

// writeView ends a bring-up whose steps all succeeded with the
// walk-through's view of the lab (what `xenlab status` prints): text
// followed by an empty line, or with --json one line of kind "status" per
// host. The timing table and the summary come after it. The views are
// those the run's verify steps built from what they read; a host without
// one is read again.
func writeView(ctx context.Context, io IO, l *openedLab, views *steps.Views) error {
	var reports []*steps.StatusReport
	for _, h := range l.hosts {
		r := views.Get(h.Name())
		if r == nil {
			var err error
			if r, err = steps.Status(ctx, l.cfg, h); err != nil {
				return l.scrub(fmt.Errorf("host %s: %w", h.Name(), err))
			}
		}
		reports = append(reports, r)
	}
	if l.flags.json {
		e := json.NewEncoder(io.Out)
		for _, r := range reports {
			if err := e.Encode(statusLine{Kind: "status", Status: r}); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintln(io.Out)
	if err := writeStatusText(io, reports); err != nil {
		return err
	}
	_, err := fmt.Fprintln(io.Out)
	return err
}
