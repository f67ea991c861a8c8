package localrc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiagnosticsGolden loads every testdata/diag/*.hcl, which must fail,
// and compares the one-line-per-diagnostic rendering with its .golden.
func TestDiagnosticsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/diag/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parse(path, src, testEnv(filepath.Dir(path), nil))
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("want a *DiagError, got %v", err)
			}
			assertSorted(t, de)
			golden(t, strings.TrimSuffix(path, ".hcl")+".golden", []byte(de.Error()+"\n"))
		})
	}
}

func assertSorted(t *testing.T, de *DiagError) {
	t.Helper()
	for i := 1; i < len(de.Diags); i++ {
		a, b := de.Diags[i-1].Subject, de.Diags[i].Subject
		if a == nil || b == nil {
			if a == nil && b != nil {
				t.Errorf("diagnostic without a position sorted before one with a position")
			}
			continue
		}
		if a.Start.Line > b.Start.Line || a.Start.Line == b.Start.Line && a.Start.Column > b.Start.Column {
			t.Errorf("diagnostics not sorted: %s before %s", a, b)
		}
	}
}

// TestDiagnosticsStableOrder decodes the same file many times: gohcl walks
// maps, so only the sort makes the order stable.
func TestDiagnosticsStableOrder(t *testing.T) {
	src, err := os.ReadFile("testdata/diag/networks.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < 30; i++ {
		_, err := parse("networks.hcl", src, testEnv("testdata/diag", nil))
		if err == nil {
			t.Fatal("want errors")
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("run %d rendered differently:\n%s\nvs\n%s", i, err, first)
		}
	}
}

// TestDiagErrorWrite renders with source snippets, as a terminal shows it.
func TestDiagErrorWrite(t *testing.T) {
	src, err := os.ReadFile("testdata/diag/vlan.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, err = parse("vlan.hcl", src, testEnv("testdata/diag", nil))
	var de *DiagError
	if !errors.As(err, &de) {
		t.Fatalf("want *DiagError, got %v", err)
	}
	var buf bytes.Buffer
	if err := de.Write(&buf, false, 80); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Error: Invalid quantum.vlan_range", "on vlan.hcl line 9", `vlan_range = "1000:5000"`, "1-4094"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal rendering lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := de.Write(&buf, true, 80); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[") {
		t.Errorf("color rendering has no escape sequences")
	}
}
