package xmlrpc

import (
	"fmt"
	"strings"
	"time"
)

// dateTimeLayout is how xapi writes <dateTime.iso8601> values (always UTC).
const dateTimeLayout = "20060102T15:04:05Z"

// dateTimeLayouts are the forms accepted on decode, tried in order. Go's
// time.Parse also accepts fractional seconds after the seconds field in each
// of them. Values without a zone are taken as UTC, as xapi means them.
var dateTimeLayouts = []string{
	"20060102T15:04:05Z07:00", // 20250319T04:16:24Z, ...+01:00
	"20060102T15:04:05Z0700",  // ...+0100
	"20060102T15:04:05Z07",    // ...+01
	"20060102T15:04:05",       // no zone
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"20060102T150405Z07:00",
	"20060102T150405",
}

// parseDateTime parses a <dateTime.iso8601> text.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("xmlrpc: bad dateTime.iso8601 %q", clip(s))
}

// formatDateTime writes t the way xapi does.
func formatDateTime(t time.Time) string {
	return t.UTC().Format(dateTimeLayout)
}

// clip shortens text quoted in error messages.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
