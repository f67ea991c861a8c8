package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"xenlab/localrc"
	"xenlab/provision"
	"xenlab/secret"
	"xenlab/secret/secrettest"
)

// TestScrubbedErrorsHideTheLabsSecrets: a command's error that quotes a
// password of the lab (which no code should do) is scrubbed as a last
// resort, while errors.Is still sees what it wraps.
func TestScrubbedErrorsHideTheLabsSecrets(t *testing.T) {
	const pw = "Zq-very-secret-9"
	o := &openedLab{cfg: &localrc.Config{
		Hosts: []localrc.Host{{Name: "xs1", XAPIPassword: secret.New(pw)}},
	}}
	inner := errors.New("boom")
	err := o.scrub(fmt.Errorf("host xs1: server said %s: %w", pw, inner))
	if strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), secret.Redacted) {
		t.Errorf("scrubbed error: %s", err)
	}
	if !errors.Is(err, inner) {
		t.Error("the scrubbed error no longer wraps its cause")
	}
	if o.scrub(nil) != nil {
		t.Error("scrub(nil) is not nil")
	}
}

// echoStep is a step whose output is a log of domU that holds the lab's
// password in every encoding secrettest knows, and whose error quotes
// them all.
type echoStep struct{ echoes []secrettest.Echo }

func (echoStep) Name() string                                    { return "agents" }
func (echoStep) Deps() []string                                  { return nil }
func (echoStep) Check(context.Context) (bool, error)             { return false, nil }
func (echoStep) Destroy(context.Context, provision.Output) error { return nil }
func (s echoStep) Apply(_ context.Context, out provision.Output) error {
	var all []string
	for _, e := range s.echoes {
		out.Line("%s", e.Text)
		all = append(all, e.Text)
	}
	return errors.New("stack.sh failed: " + strings.Join(all, " | "))
}

// TestRunScrubsEveryEncoding: a step that prints a domU log holding the
// lab's password in any encoding a log can hold it in (base64 and
// Authorization: Basic, base64url, URL-escaping that keeps /, lowercase
// %xx, double escaping, &#NN; entities, pieces of 9-12 characters) shows
// none of them on the terminal, in --json, in the JUnit file, or in the
// step log a failed run collects; the exit code is still the step's.
func TestRunScrubsEveryEncoding(t *testing.T) {
	const pw = "Zq7-domU-pass/w+rd=42"
	echoes := secrettest.Echoes(pw)
	for _, asJSON := range []bool{false, true} {
		dir := t.TempDir()
		c := &cobra.Command{Use: "up"}
		var flags labFlags
		flags.register(c)
		flags.registerRun(c)
		flags.json, flags.junit = asJSON, filepath.Join(dir, "junit.xml")
		lab := &openedLab{flags: &flags, stop: func() {}, cfg: &localrc.Config{Lab: "lab",
			DomU: localrc.DomU{Password: secret.New(pw)}, Timeouts: localrc.Timeouts{Step: time.Minute}}}
		var out, errb bytes.Buffer
		err := runSteps(context.Background(), IO{Out: &out, Err: &errb}, lab, provision.Nodes(echoStep{echoes}), false, nil)
		if provision.ExitCode(err) != ExitFailed {
			t.Fatalf("json=%v: exit %d (%v), want %d", asJSON, provision.ExitCode(err), err, ExitFailed)
		}
		junit, rerr := os.ReadFile(flags.junit)
		if rerr != nil {
			t.Fatal(rerr)
		}
		// The step log a failed run collects is written from the same
		// events (collect.StepLog); the engine's renderer is the scrubbed one.
		shown := out.String()
		if asJSON { // decoded, so an escape (\u0026 for &) cannot hide a survivor
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(shown), "\n") {
				var v any
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatalf("not a JSON line: %q", l)
				}
				lines = append(lines, fmt.Sprint(v))
			}
			shown = strings.Join(lines, "\n")
		}
		sinks := map[string]string{"terminal/JSON": shown + errb.String(), "JUnit": html.UnescapeString(string(junit)), "error": lab.scrub(err).Error()}
		for name, text := range sinks {
			if left := secrettest.Survivors(text, pw, echoes); len(left) > 0 {
				t.Errorf("json=%v: %s still holds %q:\n%s", asJSON, name, left, text)
			}
			if !strings.Contains(text, secret.Redacted) {
				t.Errorf("json=%v: %s shows no %s:\n%s", asJSON, name, secret.Redacted, text)
			}
		}
	}
}

// TestPlanHidesTheLabsSecrets: plan writes its steps' Check errors and
// changes itself, not through a run's renderer; a secret one of them
// quotes is scrubbed there too, as text and as JSON.
func TestPlanHidesTheLabsSecrets(t *testing.T) {
	const pw = "Zq-very-secret-9"
	plan := &provision.PlanResult{Steps: []provision.PlannedStep{
		{Name: "agents", Err: &provision.StepError{Step: "agents", Op: "check", Err: errors.New("domU said " + pw)},
			Changes: []provision.Change{{Field: "devstack.extra ADMIN_PASSWORD", From: pw, To: "x", How: provision.Restack}}},
	}}
	for _, asJSON := range []bool{false, true} {
		var out bytes.Buffer
		if err := writePlan(IO{Out: &out}, asJSON, plan, []secret.Secret{secret.New(pw)}); err != nil {
			t.Fatal(err)
		}
		shown := out.String()
		if asJSON {
			shown = html.UnescapeString(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(shown))
		}
		if strings.Contains(out.String(), pw) || strings.Count(shown, secret.Redacted) != 2 {
			t.Errorf("json=%v: the plan shows the secret, or not its two places redacted:\n%s", asJSON, out.String())
		}
		if asJSON && !json.Valid(out.Bytes()) {
			t.Errorf("the scrubbed plan is not JSON:\n%s", out.String())
		}
	}
}
