package localrc

import (
	"fmt"
	"strings"
)

// This file reads the small subset of bash a devstack localrc is written in:
// assignments (NAME=value, NAME+=value, NAME=(array), export NAME=...),
// quoting, comments, line continuations, $NAME / ${NAME} / ${NAME:-default}
// expansions, and enable_service / disable_service. Anything else is
// reported, not guessed at.

// seg is a piece of an expanded shell value: literal text, or a reference
// to a variable the file does not set (devstack's stackrc may; it is kept
// as ${NAME} for devstack to expand).
type seg struct {
	text string
	ref  bool // text is the variable's name
}

// segs is an expanded value.
type segs []seg

// literal returns the value and whether it is free of unresolved references.
func (s segs) literal() (string, bool) {
	var b strings.Builder
	ok := true
	for _, x := range s {
		if x.ref {
			ok = false
			continue
		}
		b.WriteString(x.text)
	}
	return b.String(), ok
}

// refs lists the unresolved variable names.
func (s segs) refs() []string {
	var out []string
	for _, x := range s {
		if x.ref {
			out = append(out, x.text)
		}
	}
	return out
}

// doubleQuoted renders the value as the contents of a bash double-quoted
// string: literal text escaped, references as ${NAME}.
func (s segs) doubleQuoted() string {
	var b strings.Builder
	for _, x := range s {
		if x.ref {
			b.WriteString("${" + x.text + "}")
			continue
		}
		for _, r := range x.text {
			if r == '$' || r == '`' || r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shellVar is a variable assigned in the localrc.
type shellVar struct {
	name    string
	value   segs
	array   []segs
	isArray bool
	line    int // first assignment
}

// part kinds of a parsed word.
const (
	partLit         = iota // literal text (quotes already removed)
	partParam              // $NAME, ${NAME}, ${NAME<op>word}
	partUnsupported        // $(...), `...`, $((...)), ${NAME#...} and friends
)

type part struct {
	kind int
	text string // literal text, parameter name, or the unsupported construct
	op   string // for partParam: "", ":-", "-", ":=", "=", ":+", "+"
	arg  []part // the word after op
}

type word struct {
	parts []part
	array [][]part // NAME=(...) elements, when isArray
	isArr bool
}

// literalPrefix returns the word's leading unquoted literal text.
func (w word) literalPrefix() string {
	if len(w.parts) > 0 && w.parts[0].kind == partLit {
		return w.parts[0].text
	}
	return ""
}

// command is one simple command: its words and the line it starts on. bad
// is set when it used a shell feature that is not translated.
type command struct {
	words []word
	line  int
	bad   string
}

// lexer splits a localrc into commands.
type lexer struct {
	src   string
	pos   int
	line  int
	warns []warning // unterminated quotes
}

// unterminated records a quote that runs to the end of the file.
func (l *lexer) unterminated(line int, quote string) {
	l.warns = append(l.warns, warning{line, "unterminated " + quote + ": the rest of the file was read as part of this value"})
}

const maxNesting = 32

func (l *lexer) peek(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *lexer) advance() byte {
	c := l.src[l.pos]
	l.pos++
	if c == '\n' {
		l.line++
	}
	return c
}

// commands returns every command in the source.
func (l *lexer) commands() []command {
	var out []command
	for l.pos < len(l.src) {
		cmd := l.command()
		if len(cmd.words) > 0 || cmd.bad != "" {
			out = append(out, cmd)
		}
	}
	return out
}

// command reads words up to the end of a command (newline, ';', or an
// operator, which makes it bad).
func (l *lexer) command() command {
	cmd := command{line: l.line}
	for l.pos < len(l.src) {
		c := l.peek(0)
		switch {
		case c == '\\' && l.peek(1) == '\n':
			l.advance()
			l.advance()
		case c == ' ' || c == '\t' || c == '\r':
			l.advance()
		case c == '#':
			for l.pos < len(l.src) && l.peek(0) != '\n' {
				l.advance()
			}
		case c == '\n' || c == ';':
			l.advance()
			return cmd
		case c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')':
			op := string(c)
			if n := l.peek(1); n == c || (c == '>' && n == '&') {
				op += string(n)
			}
			if cmd.bad == "" {
				cmd.bad = fmt.Sprintf("shell operator %q", op)
			}
			l.advance()
		default:
			if len(cmd.words) == 0 {
				cmd.line = l.line
			}
			w := l.word()
			cmd.words = append(cmd.words, w)
		}
	}
	return cmd
}

// isWordEnd reports whether c ends an unquoted word.
func isWordEnd(c byte) bool {
	switch c {
	case 0, ' ', '\t', '\r', '\n', ';', '&', '|', '<', '>', '(', ')':
		return true
	}
	return false
}

// word reads one word; NAME=( starts an array.
func (l *lexer) word() word {
	var w word
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			w.parts = append(w.parts, part{kind: partLit, text: lit.String()})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		c := l.peek(0)
		if c == '(' && len(w.parts) == 0 && isAssignPrefix(lit.String()) {
			l.advance()
			flush()
			w.isArr = true
			w.array = l.arrayElems()
			return w
		}
		if isWordEnd(c) {
			break
		}
		switch c {
		case '\\':
			l.backslash(&lit, "")
		case '\'':
			l.singleQuoted(&lit)
		case '"':
			l.advance()
			flush()
			w.parts = append(w.parts, l.quoted('"', true, 0)...)
		case '$', '`':
			flush()
			w.parts = append(w.parts, l.dollar(0, false))
		default:
			lit.WriteByte(l.advance())
		}
	}
	flush()
	return w
}

// isAssignPrefix reports whether s is "NAME=" or "NAME+=".
func isAssignPrefix(s string) bool {
	name, ok := strings.CutSuffix(s, "=")
	if !ok {
		return false
	}
	name = strings.TrimSuffix(name, "+")
	return shellRE.MatchString(name)
}

// arrayElems reads the words of an array up to ')'; newlines and comments
// are allowed inside.
func (l *lexer) arrayElems() [][]part {
	var out [][]part
	for l.pos < len(l.src) {
		c := l.peek(0)
		switch {
		case c == ')':
			l.advance()
			return out
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance()
		case c == '\\' && l.peek(1) == '\n':
			l.advance()
			l.advance()
		case c == '#':
			for l.pos < len(l.src) && l.peek(0) != '\n' {
				l.advance()
			}
		case isWordEnd(c):
			l.advance() // stray operator inside an array: skip it
		default:
			w := l.word()
			out = append(out, w.parts)
		}
	}
	return out
}

// quoted reads the parts of a word up to end, which it consumes: the
// closing '"' of a double-quoted string, or the '}' of ${NAME:-word}. dq says
// whether bash's double-quote rules apply, as they do inside "..." and in a
// ${NAME:-word} within "...": a backslash escapes only $, `, ", \, end and a
// newline and is kept before anything else, and a single quote is literal.
// In an unquoted ${NAME:-word} a backslash escapes any character and single
// quotes quote.
func (l *lexer) quoted(end byte, dq bool, depth int) []part {
	start := l.line
	special := ""
	if dq {
		special = "$`\"\\" + string(end)
	}
	var out []part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{kind: partLit, text: lit.String()})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		c := l.peek(0)
		switch {
		case c == end:
			l.advance()
			flush()
			return out
		case c == '\\':
			l.backslash(&lit, special)
		case c == '\'' && !dq:
			l.singleQuoted(&lit)
		case c == '"':
			l.advance()
			flush()
			out = append(out, l.quoted('"', true, depth)...)
		case c == '$' || c == '`':
			flush()
			out = append(out, l.dollar(depth, dq))
		default:
			lit.WriteByte(l.advance())
		}
	}
	if end == '"' {
		l.unterminated(start, "double quote")
	}
	flush()
	return out
}

// backslash reads a backslash and the character it escapes into lit. A
// backslash before a newline continues the line and yields nothing. special
// is "" where a backslash escapes any character (outside double quotes), or
// the characters it escapes inside them; before any other it is kept.
func (l *lexer) backslash(lit *strings.Builder, special string) {
	l.advance()
	if l.pos >= len(l.src) {
		return
	}
	switch n := l.advance(); {
	case n == '\n':
	case special == "" || strings.IndexByte(special, n) >= 0:
		lit.WriteByte(n)
	default:
		lit.WriteByte('\\')
		lit.WriteByte(n)
	}
}

// singleQuoted reads a '...' string into lit, quotes removed.
func (l *lexer) singleQuoted(lit *strings.Builder) {
	start := l.line
	l.advance()
	for l.pos < len(l.src) && l.peek(0) != '\'' {
		lit.WriteByte(l.advance())
	}
	if l.pos < len(l.src) {
		l.advance()
	} else {
		l.unterminated(start, "single quote")
	}
}

// dollar reads a $-expansion or a backquoted command substitution; dq says
// whether it stands inside double quotes.
func (l *lexer) dollar(depth int, dq bool) part {
	start := l.pos
	if l.peek(0) == '`' {
		l.advance()
		for l.pos < len(l.src) && l.peek(0) != '`' {
			if l.peek(0) == '\\' && l.pos+1 < len(l.src) {
				l.advance()
			}
			l.advance()
		}
		if l.pos < len(l.src) {
			l.advance()
		}
		return part{kind: partUnsupported, text: l.src[start:l.pos]}
	}
	l.advance() // $
	c := l.peek(0)
	switch {
	case c == '(':
		l.skipBalanced('(', ')')
		return part{kind: partUnsupported, text: l.src[start:l.pos]}
	case c == '{':
		return l.braced(start, depth, dq)
	case c == '_' || isAlpha(c):
		n := l.pos
		for l.pos < len(l.src) && (isAlpha(l.peek(0)) || isDigit(l.peek(0)) || l.peek(0) == '_') {
			l.advance()
		}
		return part{kind: partParam, text: l.src[n:l.pos]}
	case isDigit(c) || strings.IndexByte("@*#?$!-", c) >= 0 && c != 0:
		l.advance()
		return part{kind: partUnsupported, text: l.src[start:l.pos]}
	default:
		return part{kind: partLit, text: "$"}
	}
}

// braced reads ${...} after the '$'.
func (l *lexer) braced(start, depth int, dq bool) part {
	l.advance() // {
	n := l.pos
	for l.pos < len(l.src) && (isAlpha(l.peek(0)) || isDigit(l.peek(0)) || l.peek(0) == '_') {
		l.advance()
	}
	name := l.src[n:l.pos]
	if !shellRE.MatchString(name) {
		l.skipBraces()
		return part{kind: partUnsupported, text: l.src[start:l.pos]}
	}
	if l.peek(0) == '}' {
		l.advance()
		return part{kind: partParam, text: name}
	}
	op := ""
	for _, o := range []string{":-", ":=", ":+", "-", "=", "+"} {
		if strings.HasPrefix(l.src[l.pos:], o) {
			op = o
			break
		}
	}
	if op == "" || depth >= maxNesting {
		l.skipBraces()
		return part{kind: partUnsupported, text: l.src[start:l.pos]}
	}
	for range op {
		l.advance()
	}
	arg := l.quoted('}', dq, depth+1)
	return part{kind: partParam, text: name, op: op, arg: arg}
}

// skipBalanced skips from an opening delimiter to its match.
func (l *lexer) skipBalanced(open, close byte) {
	depth := 0
	for l.pos < len(l.src) {
		c := l.advance()
		switch c {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return
			}
		case '\\':
			if l.pos < len(l.src) {
				l.advance()
			}
		}
	}
}

// skipBraces skips to the '}' closing the current ${.
func (l *lexer) skipBraces() {
	depth := 1
	for l.pos < len(l.src) {
		switch l.advance() {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
