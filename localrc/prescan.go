package localrc

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Bounds on a lab file, checked by prescan before hcl/v2 parses it.
// hcl's parser recurses once per nesting level and per unary operator, so
// 100,000 nested brackets or a million "-" overflow the goroutine stack
// (a fatal error no recover catches), and it joins a template's literal
// pieces (a heredoc's lines, the pieces between "$${" escapes) one by one,
// in time quadratic in their number. A lab file needs a few levels, a few
// hundred lines and kilobytes; a large preseed belongs in a file read with
// file(), which is not parsed.
const (
	MaxLabFileSize = 1 << 20 // bytes
	MaxNesting     = 100     // brackets, braces, parentheses, strings, interpolations and unary operators, counted together
	// maxTemplateWork bounds, over the whole file, the sum for each string
	// or heredoc of its literal pieces times its bytes: about the bytes
	// hcl copies joining them. A 1,000-line heredoc of 40 KiB costs 4e7; a
	// preseed of 300 lines and 10 KiB, 3e6.
	maxTemplateWork = 1 << 26
)

// prescan checks a lab file's size, nesting and template work with hcl's
// lexer, which is iterative and linear, and answers with a diagnostic at
// the place where a bound is crossed. Syntax errors are left to the parser.
func prescan(filename string, src []byte) hcl.Diagnostics {
	if len(src) > MaxLabFileSize {
		return fileDiag(filename, "Lab file too large",
			fmt.Sprintf("the lab file is %d bytes; xenlab reads at most %d MiB (read large values with file())", len(src), MaxLabFileSize>>20)).Diags
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	type frame struct {
		pieces, bytes int
	}
	var stack []frame
	unary := 0
	work := 0
	for i := range toks {
		t := &toks[i]
		switch t.Type {
		case hclsyntax.TokenMinus, hclsyntax.TokenBang:
			unary++
		case hclsyntax.TokenNewline, hclsyntax.TokenComment:
		default:
			unary = 0
		}
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			stack = append(stack, frame{})
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if n := len(stack); n > 0 {
				top := stack[n-1]
				stack = stack[:n-1]
				work += top.pieces * top.bytes
				if work > maxTemplateWork {
					return tokenDiag(t, "String or heredoc too large",
						"the strings and heredocs up to here hold too many pieces (lines, or text between escapes) for hcl to join in reasonable time; read a long text with file() instead")
				}
			}
		case hclsyntax.TokenQuotedLit, hclsyntax.TokenStringLit:
			if n := len(stack); n > 0 {
				stack[n-1].pieces++
				stack[n-1].bytes += len(t.Bytes)
			}
		}
		if len(stack)+unary > MaxNesting {
			return tokenDiag(t, "Lab file nested too deeply",
				fmt.Sprintf("expressions nest more than %d levels here (brackets, braces, parentheses, strings and unary operators count); a lab file needs a few", MaxNesting))
		}
	}
	return nil
}

func tokenDiag(t *hclsyntax.Token, summary, detail string) hcl.Diagnostics {
	r := t.Range
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}}
}
