package localrc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// devstack checks where devstack comes from, its services and the
// pass-through settings.
func (v *validator) devstack(raw *devstackBlock) Devstack {
	def := raw.DefRange
	d := Devstack{Repo: raw.Repo, Branch: raw.Branch, EnabledServices: raw.EnabledServices}
	v.nonEmpty(raw.Repo, at(raw.RepoRange, def), "devstack.repo", "repo (devstack's git URL or a local path)")
	v.nonEmpty(raw.Branch, at(raw.BranchRange, def), "devstack.branch", "branch (a branch or tag of devstack)")
	d.Source = v.source(raw)
	if raw.BaseServices != nil {
		d.BaseServices = append([]string{}, (*raw.BaseServices)...)
		v.services(d.BaseServices, at(raw.BaseServicesRange, def), "devstack.base_services")
	}
	if d.EnabledServices == nil {
		d.EnabledServices = []string{}
	}
	v.services(d.EnabledServices, at(raw.EnabledServicesRange, def), "devstack.enabled_services")
	d.Extra = v.extra(raw.Extra)
	return d
}

// source checks devstack.source: a local devstack checkout (a directory
// with stack.sh), relative to the lab file's directory; it excludes repo
// and branch, which say where a clone in domU comes from.
func (v *validator) source(raw *devstackBlock) string {
	if raw.Source == "" {
		return ""
	}
	rng := raw.SourceRange
	var failed bool
	v.check(rng, func() {
		for _, o := range []struct {
			name string
			rng  hcl.Range
		}{{"repo", raw.RepoRange}, {"branch", raw.BranchRange}} {
			if o.rng.Filename != "" {
				v.errorf(rng, "devstack.source", "source and %s (line %d) exclude each other: source uploads a local checkout into domU, repo and branch are cloned there; keep one", o.name, o.rng.Start.Line)
				failed = true
				return
			}
		}
	})
	if failed {
		return ""
	}
	dir := expandPath(raw.Source, v.env.dir)
	v.check(rng, func() {
		st, err := os.Stat(dir)
		switch {
		case err != nil:
			v.errorf(rng, "devstack.source", "source %q: %v", dir, errors.Unwrap(err))
		case !st.IsDir():
			v.errorf(rng, "devstack.source", "source %q is not a directory (a devstack checkout)", dir)
		default:
			if st, err := os.Stat(filepath.Join(dir, "stack.sh")); err != nil || !st.Mode().IsRegular() {
				v.errorf(rng, "devstack.source", "source %q is not a devstack checkout: it has no stack.sh", dir)
			}
		}
	})
	return dir
}

// services checks devstack service names ("-name" disables one).
func (v *validator) services(list []string, rng hcl.Range, field string) {
	v.check(rng, func() {
		for _, s := range list {
			if !serviceRE.MatchString(s) {
				v.errorf(rng, field, "%q is not a devstack service name such as \"q-agt\" (or \"-n-net\" to disable one)", s)
				return
			}
		}
	})
}

// extra decodes devstack.extra: a map of localrc setting names to a string
// (numbers and bools are converted) or a list of strings (a bash array).
func (v *validator) extra(expr hcl.Expression) []Setting {
	if expr == nil {
		return nil
	}
	val, diags := expr.Value(v.ctx)
	v.diags = append(v.diags, diags...)
	if diags.HasErrors() || val.IsNull() {
		return nil
	}
	rng := expr.Range()
	ty := val.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		v.errorf(rng, "devstack.extra", "extra must be a map of localrc settings such as { Q_USE_SECGROUP = \"False\" }")
		return nil
	}
	if !val.IsWhollyKnown() {
		return nil
	}
	ranges := map[string]hcl.Range{}
	if pairs, d := hcl.ExprMap(expr); !d.HasErrors() {
		for _, p := range pairs {
			if k, d := p.Key.Value(v.ctx); !d.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				ranges[k.AsString()] = p.Key.Range()
			}
		}
	}
	var out []Setting
	for it := val.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		krng := rng
		if r, ok := ranges[name]; ok {
			krng = r
		}
		if !shellRE.MatchString(name) {
			v.errorf(krng, "devstack.extra", "%q is not a shell variable name", name)
			continue
		}
		if path, mapped := mappedSettings[name]; mapped {
			v.errorf(krng, "devstack.extra", "%s is set by %s in a lab file, not passed through extra", name, path)
			continue
		}
		s := Setting{Name: name, Sensitive: secretRE.MatchString(name)}
		ety := ev.Type()
		switch {
		case ev.IsNull():
			v.errorf(krng, "devstack.extra", "%s is null; give a string", name)
			continue
		case ety.IsTupleType() || ety.IsListType():
			s.IsArray = true
			s.Array = []string{}
			for ei := ev.ElementIterator(); ei.Next(); {
				_, e := ei.Element()
				str, err := toString(e)
				if err != nil {
					v.errorf(krng, "devstack.extra", "%s: array elements must be strings: %v", name, err)
					break
				}
				s.Array = append(s.Array, str)
			}
		default:
			str, err := toString(ev)
			if err != nil {
				v.errorf(krng, "devstack.extra", "%s must be a string or a list of strings: %v", name, err)
				continue
			}
			s.Value = str
		}
		// domU's localrc writes it between double quotes (a credential's
		// setting excepted): refuse what would end them or run a command.
		if !CredentialName(name) {
			bad := false
			for _, val := range append([]string{s.Value}, s.Array...) {
				if err := CheckDoubleQuoted(val); err != nil && !bad {
					bad = true
					v.errorf(krng, "devstack.extra", "%s: %v", name, err)
				}
			}
			if bad {
				continue
			}
		}
		// A value that holds a credential (--password=x) is one.
		if hasSecretOption(s.Value) || slices.ContainsFunc(s.Array, hasSecretOption) {
			s.Sensitive = true
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func toString(v cty.Value) (string, error) {
	if v.IsNull() || !v.Type().IsPrimitiveType() {
		return "", fmt.Errorf("got %s", v.Type().FriendlyName())
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", err
	}
	return s.AsString(), nil
}

// timeouts parses the three durations.
func (v *validator) timeouts(raw *timeoutsBlock) Timeouts {
	def := raw.DefRange
	var t Timeouts
	for _, x := range []struct {
		field, val string
		rng        hcl.Range
		dst        *time.Duration
	}{
		{"timeouts.step", raw.Step, at(raw.StepRange, def), &t.Step},
		{"timeouts.stack", raw.Stack, at(raw.StackRange, def), &t.Stack},
		{"timeouts.boot", raw.Boot, at(raw.BootRange, def), &t.Boot},
	} {
		d, err := ParseDuration(x.val)
		if err != nil {
			v.check(x.rng, func() { v.errorf(x.rng, x.field, "%v", err) })
			continue
		}
		*x.dst = d
	}
	return t
}
