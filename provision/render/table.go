package render

import (
	"io"

	"xenlab/provision"
)

// Table is a renderer that ignores events and, on Close, writes the
// report's per-step timing table to W.
type Table struct{ W io.Writer }

// Event implements provision.Renderer; the table needs no events.
func (Table) Event(provision.Event) {}

// Close writes the timing table.
func (t Table) Close(rep *provision.Report) error {
	if rep == nil {
		return nil
	}
	return rep.WriteTable(t.W)
}
