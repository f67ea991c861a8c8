package localrc

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	physnetRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	serviceRE = regexp.MustCompile(`^-?[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	shellRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	bridgeRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`)
	releaseRE = regexp.MustCompile(`^[a-z]+$`)
	hexPairRE = regexp.MustCompile(`^[0-9A-Fa-f]{64}$`)
	secretRE  = regexp.MustCompile(`(?i)PASS|TOKEN|SECRET|_KEY$|^SWIFT_HASH$`)
)

// readPasswordSettings are the settings devstack's stack.sh and lib/ ask
// for with read_password (havana-eol and icehouse-eol: stack.sh,
// lib/database, lib/nova_plugins/hypervisor-xenserver): secretRE must
// treat each as a credential, SWIFT_HASH included.
var readPasswordSettings = []string{
	"RABBIT_PASSWORD", "SERVICE_TOKEN", "SERVICE_PASSWORD", "ADMIN_PASSWORD",
	"LDAP_PASSWORD", "SWIFT_HASH", "DATABASE_PASSWORD", "XENAPI_PASSWORD",
}

// Limits xenlab enforces beyond devstack's own.
const (
	MinMemory = 512 * MiB // devstack cannot start its services in less
	MinDisk   = 8 * GiB   // OSDOMU_VDI_GB's default: the Ubuntu install plus devstack fills it
	MaxDevice = 15        // VIF device numbers xapi accepts on current hosts
	MaxVCPUs  = 64
)

// validator turns the decoded file into a Config, adding a diagnostic for
// every value it cannot accept.
type validator struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	file  *hcl.File
	env   evalEnv
	// domuaIface is where q-domua's physical_interface was written (its
	// agent block, or the quantum block when it is the default).
	domuaIface hcl.Range
}

// warnf adds a warning about field at rng.
func (v *validator) warnf(rng hcl.Range, field, format string, args ...any) {
	r := rng
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Suspicious " + field,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// errorf adds an error about field at rng. Summary names the field; the
// detail says what was expected.
func (v *validator) errorf(rng hcl.Range, field, format string, args ...any) {
	r := rng
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + field,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// failed reports whether decoding already reported an error inside rng, so
// the validator does not pile a second error on the same value.
func (v *validator) failed(rng hcl.Range) bool {
	for _, d := range v.diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Filename == rng.Filename &&
			d.Subject.Start.Byte >= rng.Start.Byte && d.Subject.End.Byte <= rng.End.Byte {
			return true
		}
	}
	return false
}

// at returns the attribute's range, or fallback when the attribute was not
// written (its default is in use).
func at(attr, fallback hcl.Range) hcl.Range {
	if attr.Filename != "" {
		return attr
	}
	return fallback
}

// check runs fn unless decoding already failed on the attribute.
func (v *validator) check(rng hcl.Range, fn func()) {
	if rng.Filename != "" && v.failed(rng) {
		return
	}
	fn()
}

// config validates the whole file, block by block.
func (v *validator) config(filename string, raw *fileSchema) *Config {
	cfg := &Config{Filename: filename, Dir: v.env.dir, Lab: raw.Lab}
	if raw.LabRange.Filename != "" && !v.failed(raw.LabRange) && !nameRE.MatchString(raw.Lab) {
		v.errorf(raw.LabRange, "lab", "lab must be a name of 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit (it becomes the xenlab-lab ownership tag); got %q", raw.Lab)
	}
	cfg.Hosts = v.hosts(raw.Hosts)
	cfg.Networks = v.networks(raw.Networks)
	cfg.DomU = v.domu(raw.DomU, cfg.Networks.IntegrationBridge)
	cfg.Quantum = v.quantum(raw.Quantum)
	// q-domua's physical interface is domU's NIC on the VM network, which
	// is eth<devices.vm> in the guest (devstack's GUEST_INTERFACE_DEFAULT).
	var vmDev hcl.Range
	if d := raw.DomU.Devices; d != nil {
		vmDev = at(d.VMRange, d.DefRange)
	}
	rng := v.domuaIface
	if rng.Filename == "" { // q-domua's default: the edit was to devices.vm
		rng = vmDev
	}
	if nic, want := cfg.Quantum.DomUAgent.PhysicalInterface, "eth"+strconv.Itoa(cfg.DomU.Devices.VM); nic != "" && nic != want &&
		rng.Filename != "" && !v.failed(rng) && (vmDev.Filename == "" || !v.failed(vmDev)) {
		v.errorf(rng, "quantum.agent.q-domua.physical_interface", "physical_interface is %q, but domU's interface on the VM "+
			"network is %s (domu.devices.vm = %d): the agent would bridge a NIC that is not there", nic, want, cfg.DomU.Devices.VM)
	}
	cfg.Devstack = v.devstack(raw.Devstack)
	cfg.Timeouts = v.timeouts(raw.Timeouts)
	markSensitive(cfg)
	for _, d := range v.diags {
		if d.Severity == hcl.DiagWarning {
			cfg.Warnings = append(cfg.Warnings, diagLine(d))
		}
	}
	return cfg
}

// markSensitive marks as sensitive every devstack.extra setting whose value
// contains a secret of the file (a password, or a sensitive setting's
// value, of minKnownSecret characters or more): GREETING = "admin is
// ${env("ADMIN_PASSWORD")}" must be redacted like ADMIN_PASSWORD itself.
func markSensitive(cfg *Config) {
	var secrets []string
	add := func(s string) {
		if len(s) >= minKnownSecret {
			secrets = append(secrets, s)
		}
	}
	for _, h := range cfg.Hosts {
		add(h.XAPIPassword.Reveal())
		add(h.SSHPassword.Reveal())
	}
	add(cfg.DomU.Password.Reveal())
	for _, s := range cfg.Devstack.Extra {
		if s.Sensitive {
			add(s.Value)
			for _, e := range s.Array {
				add(e)
			}
		}
	}
	holds := func(v string) bool {
		for _, sec := range secrets {
			if strings.Contains(v, sec) {
				return true
			}
		}
		return false
	}
	for i, s := range cfg.Devstack.Extra {
		if !s.Sensitive && (holds(s.Value) || slices.ContainsFunc(s.Array, holds)) {
			cfg.Devstack.Extra[i].Sensitive = true
		}
	}
}
