package localrc

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// labOut collects an imported lab file's attributes by path
// ("domu.devices.vm") and writes them in the schema's order.
type labOut struct {
	attrs map[string]attrOut
	extra []extraSetting
}

type attrOut struct {
	value cty.Value
	call  string // when set, the attribute is call(arg) with value the argument
}

type extraSetting struct {
	name  string
	value cty.Value
	call  string // when set, the value is call(value), as in attrOut
	// pieces, when value is null: the string (or, isArray, each element)
	// as bash double-quoted text.
	pieces  [][]piece
	isArray bool
}

func newLabOut() *labOut { return &labOut{attrs: map[string]attrOut{}} }

func (o *labOut) set(path string, v cty.Value) { o.attrs[path] = attrOut{value: v} }

func (o *labOut) setCall(path, fn, arg string) {
	o.attrs[path] = attrOut{value: cty.StringVal(arg), call: fn}
}

// layout is the order blocks and attributes are written in; a block is
// written only when one of its attributes was set.
var layout = []struct {
	block  string   // path prefix; the labels follow the block type
	typ    []string // block type and labels, nested by one level per entry
	fields []string
}{
	{"host", []string{`host "dom0"`}, []string{"xapi_url", "xapi_user", "xapi_password"}},
	{"networks", []string{"networks"}, []string{"vm", "public", "integration", "management", "management_bridge"}},
	{"domu", []string{"domu"}, []string{"name", "memory", "disk", "xvdb_size", "rebuild_template", "password", "ssh_user", "management_ip", "vm_ip", "public_ip"}},
	{"domu.devices", []string{"domu", "devices"}, []string{"management", "vm", "public", "integration"}},
	{"domu.ubuntu", []string{"domu", "ubuntu"}, []string{"release", "arch", "mirror_host", "mirror_dir", "proxy", "ip"}},
	{"quantum", []string{"quantum"}, []string{"plugin", "physical_network", "vlan_range", "tenant_network_type"}},
	{"quantum.agent.q-domua", []string{"quantum", `agent "q-domua"`}, []string{"physical_bridge"}},
	{"devstack", []string{"devstack"}, []string{"repo", "branch", "base_services", "enabled_services"}},
}

// render writes the lab file, formatted by hclwrite.
func (o *labOut) render(source string) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(comment("# Lab file imported by `xenlab localrc import` from " + oneLine(source) + ".\n" +
		"# Settings not written here keep xenlab's defaults (docs/configuration.md).\n"))
	root.SetAttributeValue("lab", cty.StringVal("devstack"))

	blocks := map[string]*hclwrite.Body{}
	var bodyFor func(path []string) *hclwrite.Body
	bodyFor = func(path []string) *hclwrite.Body {
		key := strings.Join(path, "/")
		if b, ok := blocks[key]; ok {
			return b
		}
		parent := root
		if len(path) > 1 {
			parent = bodyFor(path[:len(path)-1])
		}
		typ, labels := splitBlockHeader(path[len(path)-1])
		parent.AppendNewline()
		b := parent.AppendNewBlock(typ, labels).Body()
		blocks[key] = b
		return b
	}
	for _, l := range layout {
		for _, field := range l.fields {
			a, ok := o.attrs[l.block+"."+field]
			if !ok {
				continue
			}
			b := bodyFor(l.typ)
			if a.call != "" {
				b.SetAttributeRaw(field, hclwrite.TokensForFunctionCall(a.call, hclwrite.TokensForValue(a.value)))
			} else {
				b.SetAttributeValue(field, a.value)
			}
		}
		if l.block == "devstack" && len(o.extra) > 0 {
			b := bodyFor(l.typ)
			b.SetAttributeRaw("extra", o.extraTokens())
		}
	}
	return hclwrite.Format(f.Bytes())
}

// extraTokens writes devstack.extra as an object, one setting per line,
// sorted by name.
func (o *labOut) extraTokens() hclwrite.Tokens {
	list := append([]extraSetting(nil), o.extra...)
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	attrs := make([]hclwrite.ObjectAttrTokens, 0, len(list))
	for _, s := range list {
		name := hclwrite.TokensForIdentifier(s.name)
		if !hclsyntax.ValidIdentifier(s.name) {
			name = hclwrite.TokensForValue(cty.StringVal(s.name))
		}
		var value hclwrite.Tokens
		switch {
		case s.pieces == nil:
			value = hclwrite.TokensForValue(s.value)
		case s.isArray:
			elems := make([]hclwrite.Tokens, len(s.pieces))
			for i, p := range s.pieces {
				elems[i] = templateTokens(p)
			}
			value = hclwrite.TokensForTuple(elems)
		default:
			value = templateTokens(s.pieces[0])
		}
		if s.call != "" {
			value = hclwrite.TokensForFunctionCall(s.call, value)
		}
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: name, Value: value})
	}
	return hclwrite.TokensForObject(attrs)
}

// splitBlockHeader splits `agent "q-domua"` into its type and labels.
func splitBlockHeader(h string) (string, []string) {
	typ, rest, ok := strings.Cut(h, " ")
	if !ok {
		return typ, nil
	}
	return typ, []string{strings.Trim(rest, `"`)}
}

func comment(text string) hclwrite.Tokens {
	return hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(text)}}
}

// templateTokens writes pieces as one HCL string literal (a "${" escaped
// as "$${", so bash's references reach domU's localrc as written).
func templateTokens(pieces []piece) hclwrite.Tokens {
	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(p.text)
	}
	return hclwrite.TokensForValue(cty.StringVal(b.String()))
}
