package localrc

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is an amount of memory or disk in bytes.
type Size int64

// Binary size units accepted in a lab file.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

var sizeUnits = []struct {
	name string
	mult Size
}{
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1},
}

// Bytes returns the size in bytes.
func (s Size) Bytes() int64 { return int64(s) }

// MiB returns the size in whole mebibytes, rounded down (xapi and devstack's
// OSDOMU_MEM_MB speak MiB).
func (s Size) MiB() int64 { return int64(s / MiB) }

// String formats the size with the largest binary unit that divides it
// exactly, e.g. "4GiB", "1536MiB", "0".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// ParseSize parses a size such as "4GiB", "512MiB", "1.5GiB" or "0". Only
// binary units are accepted (B, KiB, MiB, GiB, TiB, case-insensitive), so
// "4GB" is rejected rather than guessed at; a bare number other than 0 is
// rejected because its unit would be a guess too.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size; expected a number and a binary unit such as \"4GiB\" or \"512MiB\"")
	}
	if t == "0" {
		return 0, nil
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("%q does not start with a number; expected a size such as \"4GiB\" or \"512MiB\"", s)
	}
	if unit == "" {
		return 0, fmt.Errorf("%q has no unit; expected a binary unit (B, KiB, MiB, GiB, TiB), e.g. \"%sGiB\"", s, num)
	}
	var mult Size
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			mult = u.mult
		}
	}
	if mult == 0 {
		hint := ""
		switch strings.ToUpper(unit) {
		case "K", "KB":
			hint = " (did you mean KiB?)"
		case "M", "MB":
			hint = " (did you mean MiB?)"
		case "G", "GB":
			hint = " (did you mean GiB?)"
		case "T", "TB":
			hint = " (did you mean TiB?)"
		}
		return 0, fmt.Errorf("%q has unknown unit %q%s; expected one of B, KiB, MiB, GiB, TiB", s, unit, hint)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %q is not a number", s, num)
	}
	b := f * float64(mult)
	if b >= math.MaxInt64 || math.IsInf(b, 0) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if b != math.Trunc(b) {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	return Size(b), nil
}

// ParseDuration parses a positive Go duration such as "20m", "1h30m", "90s".
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; expected a number with a unit such as \"90s\", \"20m\" or \"1h30m\"", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not positive; expected a duration such as \"20m\"", s)
	}
	return d, nil
}

// bareSizeUnits is the unit devstack gave each size, for the hint when a
// lab file writes a bare number: OSDOMU_MEM_MB counted MiB, the disks GiB.
var bareSizeUnits = map[string]struct{ setting, unit string }{
	"domu.memory":    {"OSDOMU_MEM_MB", "MiB"},
	"domu.disk":      {"OSDOMU_VDI_GB", "GiB"},
	"domu.xvdb_size": {"XEN_XVDB_SIZE_GB", "GiB"},
}

// bareNumber returns s trimmed when it is a number without a unit.
func bareNumber(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" || strings.Trim(t, "0123456789.") != "" {
		return "", false
	}
	return t, true
}
