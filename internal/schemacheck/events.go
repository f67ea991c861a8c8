package schemacheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EventsSchemaPath is docs/events.schema.json of the module that holds the
// current directory (tests run in their package's directory).
func EventsSchemaPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs", "events.schema.json"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the current directory")
		}
		dir = parent
	}
}

// LoadEvents loads docs/events.schema.json.
func LoadEvents() (*Schema, error) {
	p, err := EventsSchemaPath()
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// ValidateLines validates every line of out (a `--json` stdout) as one
// document and returns how many lines there were of each kind. Its error
// names the line and quotes it.
func (s *Schema) ValidateLines(out string) (map[string]int, error) {
	kinds := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if err := s.ValidateJSON(sc.Bytes()); err != nil {
			return kinds, fmt.Errorf("line %d: %v\n%s", n, err, clip(sc.Text()))
		}
		var k struct{ Kind string }
		json.Unmarshal(sc.Bytes(), &k)
		kinds[k.Kind]++
	}
	return kinds, sc.Err()
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
