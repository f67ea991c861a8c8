package localrc

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"xenlab/internal/editdistance"
	"xenlab/secret"
)

// Secret holds a password in a Config. It is secret.Secret: every way of
// printing it yields "<redacted>" and only Reveal returns the value, so a
// Config can be logged safely.
type Secret = secret.Secret

// sensitiveName reports whether an attribute (xapi_password, ssh_password,
// domu's password) or a devstack.extra setting (ADMIN_PASSWORD,
// SERVICE_TOKEN, ...) holds a secret. ssh_key is the path of a key, not a
// key.
func sensitiveName(name string) bool {
	return name != "ssh_key" && secretRE.MatchString(name)
}

// looseSecretRE catches misspelt or unknown names that may hold a secret
// ("xapi_pasword", "ssh_pw", "passwd", "credentials").
var looseSecretRE = regexp.MustCompile(`(?i)pas+w|passwd|pwd|pw$|^pw|_pw|secret|token|cred`)

// maskName reports whether snippets mask the value of an attribute or key
// called name: a secret's, or one that looks like a secret's, misspelt
// (xapi_pasword, one edit from xapi_password, fails as an unknown
// argument, and its snippet must not show the password either).
func maskName(name string) bool {
	if name == "ssh_key" {
		return false
	}
	if sensitiveName(name) || looseSecretRE.MatchString(name) {
		return true
	}
	for _, known := range []string{"xapi_password", "ssh_password", "password"} {
		if editdistance.Levenshtein(strings.ToLower(name), known) <= 2 {
			return true
		}
	}
	return false
}

// checkSecrets rejects a secret holding a character that cannot reach its
// destination intact: xapi's XML-RPC carries a C0 control as U+FFFD (so the
// login can never succeed), and a line break in domU's or a service's
// password would break the line of the preseed or localrc it is written
// to. The diagnostic names the field and the kind of character, never the
// value.
func checkSecrets(f *hcl.File, ctx *hcl.EvalContext) hcl.Diagnostics {
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	check := func(field string, expr hcl.Expression) {
		val, d := expr.Value(ctx)
		if d.HasErrors() || !val.IsWhollyKnown() || val.IsNull() {
			return // already reported, or nothing to check
		}
		var strs []string
		switch ty := val.Type(); {
		case ty == cty.String:
			strs = []string{val.AsString()}
		case ty.IsTupleType() || ty.IsListType():
			for it := val.ElementIterator(); it.Next(); {
				if _, e := it.Element(); !e.IsNull() && e.Type() == cty.String {
					strs = append(strs, e.AsString())
				}
			}
		}
		for _, s := range strs {
			if why := badSecretChar(s); why != "" {
				r := expr.Range()
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid " + field,
					Detail:   field[strings.LastIndexByte(field, '.')+1:] + " " + why,
					Subject:  &r,
				})
				return
			}
		}
	}
	var walk func(prefix string, b *hclsyntax.Body)
	walk = func(prefix string, b *hclsyntax.Body) {
		for _, name := range sortedAttrs(b) {
			a := b.Attributes[name]
			if sensitiveName(a.Name) {
				check(prefix+a.Name, a.Expr)
			}
			if prefix == "devstack." && a.Name == "extra" {
				if oc, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
					for _, item := range oc.Items {
						if k := keyName(item.KeyExpr, ctx); k != "" && sensitiveName(k) {
							check("devstack.extra."+k, item.ValueExpr)
						}
					}
				}
			}
		}
		for _, blk := range b.Blocks {
			walk(prefix+blk.Type+".", blk.Body)
		}
	}
	walk("", body)
	return diags
}

func sortedAttrs(b *hclsyntax.Body) []string {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	// Order by position, as the file reads.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && b.Attributes[names[j]].SrcRange.Start.Byte < b.Attributes[names[j-1]].SrcRange.Start.Byte; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// keyName is an object key as written (a bare word or a string).
func keyName(expr hcl.Expression, ctx *hcl.EvalContext) string {
	if k := hcl.ExprAsKeyword(expr); k != "" {
		return k
	}
	v, d := expr.Value(ctx)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// badSecretChar says what is wrong with a secret's characters ("" when
// nothing): any C0 or C1 control character, DEL, or U+FFFE/U+FFFF (which
// XML cannot carry either). It says where only for a trailing line break,
// the common case of a password file read with file().
func badSecretChar(s string) string {
	trimmed := strings.TrimRight(s, "\r\n")
	if trimmed != s && badSecretChar(trimmed) == "" {
		return "ends with a line break, which xapi, SSH and devstack would take as part of the password; " +
			"a password file's trailing newline? read it with trimspace(file(...)) (the value is not shown)"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			kind := "a control character"
			switch r {
			case '\n', '\r':
				kind = "a line break"
			case '\t':
				kind = "a tab"
			}
			return "holds " + kind + "; a password cannot: xapi would receive U+FFFD in place of a control character, " +
				"and a line break would split the line of the preseed or localrc it is written to (the value is not shown)"
		}
	}
	return ""
}

// maskEdit replaces src[start.Byte:end.Byte] with repl.
type maskEdit struct {
	start, end hcl.Pos
	repl       string
	url        bool // a URL's user information, not a secret field's value
}

// secretEdits finds the literal text of every secret attribute's value
// (xapi_password, ssh_password, password, a sensitive devstack.extra key)
// with hcl's lexer, which works on files that do not parse too: strings,
// heredoc lines, numbers and bare words after "name =" up to the end of the
// value, except the variable name of env() and the path of file(). Each run
// becomes "<redacted>" followed by the line breaks it held, so every line
// keeps its number.
func secretEdits(src []byte, filename string) []maskEdit {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	var edits []maskEdit
	for i := 0; i < len(toks); i++ {
		j := valueStart(toks, i)
		if j < 0 {
			if e, ok := urlCredentials(toks[i]); ok {
				edits = append(edits, e)
			}
			continue
		}
		var run []hclsyntax.Token
		flush := func() {
			if len(run) == 0 {
				return
			}
			s, e := run[0].Range.Start, run[len(run)-1].Range.End
			nl := strings.Count(string(src[s.Byte:e.Byte]), "\n")
			edits = append(edits, maskEdit{start: s, end: e, repl: secret.Redacted + strings.Repeat("\n", nl)})
			run = nil
		}
		depth, keepDepth := 0, -1
		for ; j < len(toks); j++ {
			t := toks[j]
			if depth == 0 && (t.Type == hclsyntax.TokenNewline || t.Type == hclsyntax.TokenComment ||
				t.Type == hclsyntax.TokenComma || t.Type == hclsyntax.TokenSemicolon || t.Type == hclsyntax.TokenEOF) {
				break
			}
			switch t.Type {
			case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
				hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
				// The first argument of env() or file() is a name, not
				// the secret: keep it.
				if t.Type == hclsyntax.TokenOQuote && j >= 2 && toks[j-1].Type == hclsyntax.TokenOParen &&
					toks[j-2].Type == hclsyntax.TokenIdent && (string(toks[j-2].Bytes) == "env" || string(toks[j-2].Bytes) == "file") {
					keepDepth = depth
				}
				depth++
				flush()
				continue
			case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
				hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
				flush()
				if depth == 0 {
					break // closes the block or object around the attribute
				}
				depth--
				if depth == keepDepth {
					keepDepth = -1
				}
				continue
			case hclsyntax.TokenIdent:
				if j+1 < len(toks) && toks[j+1].Type == hclsyntax.TokenOParen {
					flush() // a function's name
					continue
				}
			case hclsyntax.TokenQuotedLit, hclsyntax.TokenStringLit, hclsyntax.TokenNumberLit, hclsyntax.TokenQuotedNewline,
				hclsyntax.TokenInvalid, hclsyntax.TokenBadUTF8:
			default:
				flush()
				continue
			}
			if keepDepth >= 0 {
				continue
			}
			run = append(run, t)
		}
		flush()
		i = j
	}
	return edits
}

// urlCredentials masks the user information of a URL written in a string
// ("https://root:pw@host" shows as "https://<redacted>@host"): xapi_url
// refuses it, and its snippet must not show it.
func urlCredentials(t hclsyntax.Token) (maskEdit, bool) {
	if t.Type != hclsyntax.TokenQuotedLit && t.Type != hclsyntax.TokenStringLit {
		return maskEdit{}, false
	}
	b := string(t.Bytes)
	i := strings.Index(b, "://")
	if i < 0 {
		return maskEdit{}, false
	}
	rest := b[i+3:]
	at := strings.IndexByte(rest, '@')
	if at <= 0 || strings.ContainsAny(rest[:at], "/?#\n") {
		return maskEdit{}, false
	}
	start, end := t.Range.Start, t.Range.Start
	start.Byte += i + 3
	start.Column += utf8.RuneCountInString(b[:i+3])
	end.Byte = start.Byte + at
	end.Column = start.Column + utf8.RuneCountInString(rest[:at])
	return maskEdit{start: start, end: end, repl: secret.Redacted, url: true}, true
}

// valueStart returns the index of the first token of a secret attribute's
// value when toks[i] starts "name =" or "name :" (name bare or quoted), else
// -1.
func valueStart(toks hclsyntax.Tokens, i int) int {
	var name string
	next := i + 1
	switch {
	case toks[i].Type == hclsyntax.TokenIdent:
		name = string(toks[i].Bytes)
	case toks[i].Type == hclsyntax.TokenOQuote && i+2 < len(toks) &&
		toks[i+1].Type == hclsyntax.TokenQuotedLit && toks[i+2].Type == hclsyntax.TokenCQuote:
		name, next = string(toks[i+1].Bytes), i+3
	default:
		return -1
	}
	if next >= len(toks) || toks[next].Type != hclsyntax.TokenEqual && toks[next].Type != hclsyntax.TokenColon || !maskName(name) {
		return -1
	}
	return next + 1
}

// maskSource applies edits (in order, not overlapping) to src.
func maskSource(src []byte, edits []maskEdit) []byte {
	var out []byte
	last := 0
	for _, e := range edits {
		out = append(out, src[last:e.start.Byte]...)
		out = append(out, e.repl...)
		last = e.end.Byte
	}
	return append(out, src[last:]...)
}

// maskPos maps a position in the source to the masked source: after an
// edit it shifts by the edit's change; inside one it moves to the edit's
// start (or, for an end position, its replacement's end).
func maskPos(p hcl.Pos, edits []maskEdit, isEnd bool) hcl.Pos {
	q := p
	for _, e := range edits {
		replEnd := replacementEnd(e)
		switch {
		case p.Byte >= e.end.Byte:
			q.Byte += len(e.repl) - (e.end.Byte - e.start.Byte)
			if p.Line == e.end.Line {
				q.Column += replEnd.Column - e.end.Column
			}
		case p.Byte > e.start.Byte || p.Byte == e.start.Byte && isEnd && e.end.Byte > e.start.Byte:
			shift := q.Byte - p.Byte
			if isEnd {
				q = replEnd
			} else {
				q = e.start
			}
			q.Byte += shift
			return q
		}
	}
	return q
}

// replacementEnd is where an edit's replacement ends, in the positions of
// the text before the edit.
func replacementEnd(e maskEdit) hcl.Pos {
	nl := strings.Count(e.repl, "\n")
	end := hcl.Pos{Line: e.start.Line + nl, Byte: e.start.Byte + len(e.repl)}
	if nl == 0 {
		end.Column = e.start.Column + len(e.repl)
	} else {
		end.Column = 1
	}
	return end
}

// unmaskByte maps a byte offset in the masked source back to the source.
func unmaskByte(b int, edits []maskEdit) int {
	shift := 0
	for _, e := range edits {
		newStart := e.start.Byte + shift
		newEnd := newStart + len(e.repl)
		switch {
		case b < newStart:
			return b - shift
		case b < newEnd:
			return e.start.Byte
		}
		shift += len(e.repl) - (e.end.Byte - e.start.Byte)
	}
	return b - shift
}

// maskedNav answers hcl's "in host "xs1"" context for a masked file by
// asking the original file's navigation at the original offset.
type maskedNav struct {
	orig  any
	edits []maskEdit
}

func (n maskedNav) ContextString(offset int) string {
	if cs, ok := n.orig.(interface{ ContextString(int) string }); ok {
		return cs.ContextString(unmaskByte(offset, n.edits))
	}
	return ""
}

// maskDiags returns files whose secret values are masked and diagnostics
// whose ranges point into them, for a rendering with source snippets.
func maskDiags(diags hcl.Diagnostics, files map[string]*hcl.File) (hcl.Diagnostics, map[string]*hcl.File) {
	edits := map[string][]maskEdit{}
	masked := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		if f == nil || f.Bytes == nil {
			masked[name] = f
			continue
		}
		e := secretEdits(f.Bytes, name)
		edits[name] = e
		masked[name] = &hcl.File{Body: f.Body, Bytes: maskSource(f.Bytes, e), Nav: maskedNav{orig: f.Nav, edits: e}}
	}
	mapRange := func(r *hcl.Range) *hcl.Range {
		if r == nil || len(edits[r.Filename]) == 0 {
			return r
		}
		e := edits[r.Filename]
		m := hcl.Range{Filename: r.Filename, Start: maskPos(r.Start, e, false), End: maskPos(r.End, e, true)}
		return &m
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Subject = mapRange(d.Subject)
		c.Context = mapRange(d.Context)
		out[i] = &c
	}
	return out, masked
}

// hideSecretQuotes replaces every quoted string in the summary and detail
// of a diagnostic about a secret's literal text (hcl's "The symbol "q" is
// not a valid escape sequence selector" quotes a piece of the password)
// with "<redacted>".
func hideSecretQuotes(diags hcl.Diagnostics, src []byte, filename string) hcl.Diagnostics {
	edits := secretEdits(src, filename)
	if len(edits) == 0 {
		return diags
	}
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		out[i] = d
		s := d.Subject
		if s == nil || s.Filename != filename {
			continue
		}
		for _, e := range edits {
			if !e.url && s.Start.Byte < e.end.Byte && s.End.Byte >= e.start.Byte {
				c := *d
				c.Summary, c.Detail = redactQuoted(d.Summary), redactQuoted(d.Detail)
				out[i] = &c
				break
			}
		}
	}
	return out
}

// redactQuoted replaces each Go-quoted string in msg with "<redacted>".
func redactQuoted(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] == '"' {
			if n, _, ok := quotedAt(msg[i:]); ok {
				b.WriteString(secret.Redacted)
				i += n
				continue
			}
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}
