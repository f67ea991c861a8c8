package localrc

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		err  string
	}{
		{"4GiB", 4 * GiB, ""},
		{"512MiB", 512 * MiB, ""},
		{"1.5GiB", 1536 * MiB, ""},
		{"8 gib", 8 * GiB, ""},
		{"1TiB", TiB, ""},
		{"100B", 100, ""},
		{"0", 0, ""},
		{"4GB", 0, "did you mean GiB?"},
		{"4096", 0, "has no unit"},
		{"", 0, "empty size"},
		{"GiB", 0, "does not start with a number"},
		{"1.2.3GiB", 0, "is not a number"},
		{"0.3B", 0, "whole number of bytes"},
		{"99999999999TiB", 0, "too large"},
		{"-1GiB", 0, "does not start with a number"},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSize(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	for s, want := range map[Size]string{4 * GiB: "4GiB", 1536 * MiB: "1536MiB", 0: "0", 1: "1B", 3 * KiB: "3KiB", 2 * TiB: "2TiB"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(s), got, want)
		}
		if back, err := ParseSize(want); err != nil || back != s {
			t.Errorf("round trip of %q = %v, %v", want, back, err)
		}
	}
	if (4 * GiB).MiB() != 4096 {
		t.Errorf("MiB() = %d", (4 * GiB).MiB())
	}
}

func TestParseDuration(t *testing.T) {
	if d, err := ParseDuration("1h30m"); err != nil || d != 90*time.Minute {
		t.Errorf("1h30m = %v, %v", d, err)
	}
	for _, bad := range []string{"", "20", "20 minutes", "0s", "-1m"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestParseVLANRangeAndFingerprint(t *testing.T) {
	if r, err := ParseVLANRange("1:4094"); err != nil || r != (VLANRange{1, 4094}) {
		t.Errorf("1:4094 = %v, %v", r, err)
	}
	for _, bad := range []string{"0:10", "10:4095", "20:10", "a:b", "100"} {
		if _, err := ParseVLANRange(bad); err == nil {
			t.Errorf("ParseVLANRange(%q) accepted", bad)
		}
	}
	hex := strings.Repeat("ab", 32)
	fp, err := normalizeFingerprint(hex)
	if err != nil || fp != "sha256:"+strings.TrimSuffix(strings.Repeat("AB:", 32), ":") {
		t.Errorf("fingerprint = %q, %v", fp, err)
	}
	if _, err := normalizeFingerprint("sha256:" + hex[:62]); err == nil {
		t.Errorf("short fingerprint accepted")
	}
}
