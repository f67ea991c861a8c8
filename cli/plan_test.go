package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"xenlab/hosts/sim"
	"xenlab/hosts/sim/ovs"
	"xenlab/internal/schemacheck"
)

// TestPlanShowsTheLabFilesChanges: plan lists each difference between the
// lab file and the host with how up makes it, in text and in --json
// (which validates against docs/events.schema.json). On a fresh host the
// lab's networks are to be created, in place.
func TestPlanShowsTheLabFilesChanges(t *testing.T) {
	schema, err := schemacheck.LoadEvents()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sim.Start(ctx, sim.Options{Dir: t.TempDir(), OVS: ovs.ModeModel, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lab := h.Endpoints().LabFile
	code, stdout, stderr := run(t, "", false, "plan", "-f", lab, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if kinds, err := schema.ValidateLines(stdout); err != nil || kinds["plan"] != 1 {
		t.Errorf("plan --json against docs/events.schema.json: %v (kinds %v)", err, kinds)
	}
	var plan struct {
		Steps []struct {
			Name    string
			Changes []struct{ Field, From, To, How string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range plan.Steps {
		for _, c := range s.Changes {
			got = append(got, s.Name+": "+c.Field+" -> "+c.To+" ("+c.How+")")
		}
	}
	if want := "networks: networks.vm -> OpenStack VM Network (in place)"; !strings.Contains(strings.Join(got, "\n"), want) {
		t.Errorf("plan --json's changes lack %q: %v", want, got)
	}

	code, stdout, stderr = run(t, "", false, "plan", "-f", lab)
	if code != ExitOK || !strings.Contains(stdout, "change(s) from the lab file, as up will make them:") ||
		!strings.Contains(stdout, "~   networks: networks.public: (none) -> OpenStack Public Network (in place: network.create)") {
		t.Errorf("plan: exit %d:\n%s%s", code, stdout, stderr)
	}
	if pw, _ := os.ReadFile(h.Endpoints().PasswordFile); strings.Contains(stdout, string(pw)) {
		t.Error("the root password appears in plan's output")
	}
}
