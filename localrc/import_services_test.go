package localrc

import (
	"strings"
	"testing"
)

// TestImportEnabledServicesSemantics: ENABLED_SERVICES is computed as
// devstack computes it (stackrc's havana-eol default, then +=, plain
// assignments, enable_service, disable_service, negations), not replaced by
// the appended items; a file without ENABLED_SERVICES keeps devstack's
// default (nova-network), not the lab file's Quantum default; and a result
// that is not a Quantum lab is warned about.
func TestImportEnabledServicesSemantics(t *testing.T) {
	def := stackrcServices
	without := func(list string, drop ...string) string {
		var out []string
		for _, s := range strings.Split(list, ",") {
			keep := true
			for _, d := range drop {
				keep = keep && s != d
			}
			if keep {
				out = append(out, s)
			}
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		name, src      string
		base, enabled  string // base "" = nil (devstack's own default)
		notQuantum     bool   // `xenlab up` changes the list (and says so)
		warnSubstrings []string
	}{
		{"unset", "Q_USE_SECGROUP=False\n", "", "", true, []string{"ENABLED_SERVICES not set: devstack's default (nova-network) is not a Quantum lab; `xenlab up` adds q-svc, q-agt, q-dhcp, q-l3, q-meta, q-domua and leaves out n-net"}},
		{"append with comma", "ENABLED_SERVICES+=,tempest\n", "", "tempest", true, nil},
		{"append without comma", "ENABLED_SERVICES+=neutron,q-domua\n", strings.TrimSuffix(def, "mysql") + "mysqlneutron,q-domua", "", true, []string{`bash joins the first new service to stackrc's last one: "mysqlneutron"`}},
		{"quantum edits", "ENABLED_SERVICES+=,q-svc,q-agt,q-domua,-n-net\n", "", "q-svc,q-agt,q-domua,-n-net", true, []string{"`xenlab up` adds q-dhcp, q-l3, q-meta, so domU runs"}},
		{"self reference and disable_service", "ENABLED_SERVICES=$ENABLED_SERVICES,q-svc,q-agt,q-domua\ndisable_service n-net\n", without(def, "n-net") + ",q-svc,q-agt,q-domua", "", true, nil},
		{"enable_service applies negations", "ENABLED_SERVICES+=,-n-net\nenable_service q-svc q-agt q-domua\n", without(def, "n-net") + ",q-svc,q-agt,q-domua", "", true, nil},
		{"disable_all_services", "disable_all_services\nenable_service key,mysql\n", "key,mysql", "", true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, warns := importParse(t, c.src)
			base := ""
			if cfg.Devstack.BaseServices != nil {
				base = strings.Join(cfg.Devstack.BaseServices, ",")
			}
			if base != c.base || strings.Join(cfg.Devstack.EnabledServices, ",") != c.enabled {
				t.Errorf("base_services %q, enabled_services %q; want %q, %q", base, cfg.Devstack.EnabledServices, c.base, c.enabled)
			}
			joined := strings.Join(warns, "\n")
			if got := strings.Contains(joined, "`xenlab up` adds"); got != c.notQuantum {
				t.Errorf("warned that up changes the services: %v, want %v\n%s", got, c.notQuantum, joined)
			}
			for _, w := range c.warnSubstrings {
				if !strings.Contains(joined, w) {
					t.Errorf("no warning %q in\n%s", w, joined)
				}
			}
		})
	}
}

// TestDisableNegated follows devstack's disable_negated_services, sed's
// substring match included.
func TestDisableNegated(t *testing.T) {
	for in, want := range map[string]string{
		"a,n-net,b,-n-net":   "a,b",
		"-n-net,a,n-net":     "a",
		"a,,b,":              "a,b",
		"q-svc,-q-svc,q-agt": "q-agt",
	} {
		if got := disableNegated(in); got != want {
			t.Errorf("disableNegated(%q) = %q, want %q", in, got, want)
		}
	}
}
