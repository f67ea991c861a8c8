package localrc

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// interp runs the commands of a localrc in a model of bash that only
// records variables. What it cannot model it reports as a warning and skips.
type interp struct {
	vars  map[string]*shellVar
	order []string // names in order of first assignment
	warns []warning
	depth int // inside if/for/while/case or a function body: not translated
	line  int // of the command being run, for ${NAME:=word}'s assignment
	total int // bytes held by all variables, bounded by maxTotalLen
	// work counts the bytes the model copies and scans (every value
	// assigned, every service list edited); over maxWork the run stops at
	// line tooMuch, so no input costs more than a bounded multiple of its size.
	work    int
	tooMuch int
	// commands counts the commands run; settings those that are a
	// localrc's (assignments and devstack's service functions).
	commands, settings int
	// skipped names variables whose assignment could not be translated.
	skipped map[string]bool
	// aliases maps a variable assigned nothing but another variable
	// (SERVICE_PASSWORD=$ADMIN_PASSWORD) to that variable, when either is a
	// credential: the import keeps the reference (one env var for both).
	aliases map[string]string
	// aliasedBy is aliases reversed: the names that are aliases of a
	// variable, so an assignment breaks them without a scan of aliases.
	aliasedBy map[string][]string
	// plugins are the file's enable_plugin commands (a later devstack's).
	plugins []eraEvidence
	// feeds names every variable a credential's value was computed from
	// (PW in ADMIN_PASSWORD=${PW}x): its value is a credential's too.
	feeds map[string]bool
}

func newInterp() *interp {
	return &interp{vars: map[string]*shellVar{}, skipped: map[string]bool{}, aliases: map[string]string{}, aliasedBy: map[string][]string{}, feeds: map[string]bool{}}
}

// warning is one thing Import could not translate, at a line of the input
// (0: the file as a whole).
type warning struct {
	line int
	text string
}

func (in *interp) warnf(line int, format string, args ...any) {
	in.warns = append(in.warns, warning{line, fmt.Sprintf(format, args...)})
}

// maxWarnings is how many warnings Import prints; the rest are counted.
const maxWarnings = 200

// renderWarnings sorts warnings by line and formats them as "file:line:
// text", the first maxWarnings of them and then how many more there were.
func renderWarnings(file string, ws []warning) []string {
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].line < ws[j].line })
	n := min(len(ws), maxWarnings)
	out := make([]string, n, n+1)
	for i, w := range ws[:n] {
		if w.line == 0 {
			out[i] = file + ": " + w.text
		} else {
			out[i] = fmt.Sprintf("%s:%d: %s", file, w.line, w.text)
		}
	}
	if more := len(ws) - n; more > 0 {
		out = append(out, fmt.Sprintf("%s: %d more warnings not shown (from line %d on); is this file a localrc?", file, more, ws[n].line))
	}
	return out
}

// run executes a parsed localrc, up to the command where its work passes
// maxWork (tooMuch says where).
func (in *interp) run(cmds []command) {
	for _, c := range cmds {
		in.exec(c)
		if in.work > maxWork {
			in.tooMuch = c.line
			return
		}
	}
}

// maxWork bounds what interpreting a localrc may copy and scan, in bytes:
// sixteen times the largest file Import reads. A real localrc needs a few
// kilobytes; a file that repeats A+=$A or enable_service thousands of times
// would otherwise cost time quadratic in its length.
const maxWork = 16 * MaxLocalrcSize

var (
	openers  = map[string]bool{"if": true, "for": true, "while": true, "until": true, "case": true, "select": true, "{": true, "function": true}
	closers  = map[string]bool{"fi": true, "done": true, "esac": true, "}": true}
	declares = map[string]bool{"export": true, "declare": true, "typeset": true, "readonly": true, "local": true}
)

func (in *interp) exec(c command) {
	in.line = c.line
	in.commands++
	first := ""
	if len(c.words) > 0 {
		first = wordText(c.words[0])
	}
	// Blocks: track nesting so nothing inside a conditional, loop or
	// function body is applied unconditionally.
	opened, closed := openers[first], closers[first]
	for _, w := range c.words[min(1, len(c.words)):] {
		switch wordText(w) {
		case "{":
			opened = true
		case "}":
			closed = true
		}
	}
	if opened {
		in.depth++
		if t := commandText(c); in.depth == 1 && t == secretCommand {
			in.warnf(c.line, "a block that mentions a credential (not shown) is not translated: anything inside it is skipped")
		} else if in.depth == 1 {
			in.warnf(c.line, "%q block not translated: anything inside it is skipped", t)
		}
		return
	}
	if closed {
		if in.depth > 0 {
			in.depth--
		}
		return
	}
	if in.depth > 0 {
		if hasAssignment(c.words) {
			in.settings++
			in.warnf(c.line, "assignment inside a conditional, loop or function not translated: %s", commandText(c))
		}
		return
	}
	if c.bad != "" {
		if hasAssignment(c.words) {
			in.settings++
		}
		in.warnf(c.line, "%s not translated: %s", c.bad, commandText(c))
		return
	}
	words := c.words
	if len(words) > 0 && declares[wordText(words[0])] {
		words = words[1:]
		for len(words) > 0 && strings.HasPrefix(wordText(words[0]), "-") {
			words = words[1:]
		}
		if !hasAssignment(words) {
			in.settings++
			in.declareOnly(wordText(c.words[0]), words, c.line)
			return
		}
	}
	n := 0
	for n < len(words) && isAssignment(words[n]) {
		n++
	}
	switch {
	case n == len(words) && n > 0:
		in.settings++
		for _, w := range words {
			in.assign(w, c.line)
		}
	case n > 0:
		in.settings++
		in.warnf(c.line, "a command run with temporary variables is not translated: %s", commandText(c))
	default:
		in.command(words, c)
	}
}

func (in *interp) command(words []word, c command) {
	name := wordText(words[0])
	switch name {
	case "enable_service", "disable_service":
		in.settings++
		for _, w := range words[1:] {
			v, bad := in.expand(w.parts, 0)
			s, ok := v.literal()
			if bad != "" || !ok {
				if t := wordText(w); mentionsSecret(t) {
					in.warnf(c.line, "%s argument that mentions a credential (not shown) not translated", name)
				} else {
					in.warnf(c.line, "%s argument %q not translated", name, t)
				}
				continue
			}
			in.serviceCommand(name, strings.Fields(strings.ReplaceAll(s, ",", " ")), c.line)
		}
	case "disable_all_services":
		in.settings++
		in.set("ENABLED_SERVICES", &shellVar{value: segs{}}, c.line)
	case "enable_plugin":
		in.settings++
		plugin := "with no name"
		if len(words) > 1 {
			plugin = wordText(words[1])
		}
		if mentionsSecret(plugin) || !commandNameRE.MatchString(plugin) {
			plugin = "(name not shown)"
		}
		in.plugins = append(in.plugins, eraEvidence{c.line, "enable_plugin " + plugin})
		in.warnf(c.line, "enable_plugin %s not translated: devstack plugins came after Havana, and the devstack xenlab runs loads none", plugin)
	case "source", ".":
		in.settings++ // a localrc that sources another
		in.warnf(c.line, "%s of another file not followed: %s", name, commandText(c))
	default:
		in.warnf(c.line, "command not translated: %s", commandText(c))
	}
}

// declareOnly handles export/declare/... without an assignment. "export
// NAME" records nothing and says nothing; "export NAME value" looks like a
// mistyped assignment, and is reported without its words (the value may be
// a credential's).
func (in *interp) declareOnly(keyword string, words []word, line int) {
	if len(words) == 0 || len(words) == 1 && shellRE.MatchString(wordText(words[0])) {
		return
	}
	if name := wordText(words[0]); shellRE.MatchString(name) {
		in.warnf(line, "%s: \"%s %s\" followed by other words is not an assignment (NAME=value); not translated, the words are not shown", name, keyword, name)
		return
	}
	in.warnf(line, "%s with words that are not NAME=value is not translated (not shown)", keyword)
}

func isAssignment(w word) bool {
	if w.isArr {
		return true
	}
	p := w.literalPrefix()
	i := strings.IndexByte(p, '=')
	return i > 0 && isAssignPrefix(p[:i+1])
}

func hasAssignment(ws []word) bool {
	for _, w := range ws {
		if isAssignment(w) {
			return true
		}
	}
	return false
}

// assign applies NAME=value, NAME+=value, NAME=(...) or NAME+=(...).
func (in *interp) assign(w word, line int) {
	p := w.parts[0].text
	i := strings.IndexByte(p, '=')
	name, appendOp := p[:i], false
	if strings.HasSuffix(name, "+") {
		name, appendOp = name[:len(name)-1], true
	}
	if w.isArr {
		var elems []segs
		for _, e := range w.array {
			v, bad := in.expand(e, 0)
			if bad != "" {
				in.untranslatable(name, bad, line)
				return
			}
			elems = append(elems, v)
		}
		if old, ok := in.vars[name]; ok && appendOp {
			if !old.isArray {
				in.warnf(line, "%s+=(...) on a plain variable not translated", name)
				return
			}
			elems = append(append([]segs{}, old.array...), elems...)
		}
		in.set(name, &shellVar{array: elems, isArray: true}, line)
		return
	}
	rest := append([]part{{kind: partLit, text: p[i+1:]}}, w.parts[1:]...)
	if secretRE.MatchString(name) {
		paramNames(rest, in.feeds)
	}
	v, bad := in.expand(rest, 0)
	if bad != "" {
		in.untranslatable(name, bad, line)
		return
	}
	if appendOp {
		in.appendValue(name, v, line)
		return
	}
	in.set(name, &shellVar{value: v}, line)
	if target := aliasOf(rest); target != "" && target != name && (secretRE.MatchString(name) || secretRE.MatchString(target)) {
		in.aliases[name] = target
		in.aliasedBy[target] = append(in.aliasedBy[target], name)
	}
}

// paramNames adds the names of the variables parts expand to names.
func paramNames(parts []part, names map[string]bool) {
	for _, p := range parts {
		if p.kind == partParam {
			names[p.text] = true
			paramNames(p.arg, names)
		}
	}
}

// aliasOf returns NAME when a value is $NAME, ${NAME} or ${NAME:-word}
// and nothing else (quotes removed), "" otherwise.
func aliasOf(parts []part) string {
	target := ""
	for _, p := range parts {
		switch {
		case p.kind == partLit && p.text == "":
		case p.kind == partParam && target == "" && (p.op == "" || p.op == ":-" || p.op == "-"):
			target = p.text
		default:
			return ""
		}
	}
	return target
}

// untranslatable reports an assignment skipped because its value uses a
// construct the model does not evaluate. A construct that is a credential's
// value or mentions one is not quoted: it may hold the secret.
func (in *interp) untranslatable(name, construct string, line int) {
	in.skipped[name] = true
	delete(in.aliases, name)
	switch {
	case secretRE.MatchString(name):
		in.warnf(line, "%s uses a construct (not shown: the name looks like a credential), which is not translated; the lab file reads %s with env(%q)", name, name, name)
		return
	case mentionsSecret(construct):
		construct = "a construct (not shown: it refers to a credential)"
	}
	in.warnf(line, "%s uses %s, which is not translated; %s skipped", name, construct, name)
}

// appendValue implements NAME+=value. An unset NAME keeps a reference to
// itself in front (localrc is sourced after stackrc), or stackrc's value
// when the importer models it: ENABLED_SERVICES+= appends to stackrc's
// default list.
func (in *interp) appendValue(name string, v segs, line int) {
	old, ok := in.vars[name]
	if ok && old.isArray {
		in.warnf(line, "%s+=value on an array not translated", name)
		return
	}
	base := segs{{text: name, ref: true}}
	if d, known := stackrcDefault(name); known {
		base = d
	}
	if ok {
		base = old.value
	}
	joined := joinSegs(base, v)
	if segsLen(joined) > maxValueLen {
		in.warnf(line, "%s grows beyond 64 KiB; not translated", name)
		return
	}
	in.set(name, &shellVar{value: joined}, line)
}

func (in *interp) set(name string, v *shellVar, line int) {
	size := varLen(v)
	old := 0
	if o, ok := in.vars[name]; ok {
		old = varLen(o)
	}
	if in.total-old+size > maxTotalLen {
		in.warnf(line, "%s not translated: the file's values exceed 1 MiB in total", name)
		return
	}
	in.total += size - old
	in.work += size
	// NAME=$OTHER copies OTHER's value: once either changes, NAME is no
	// longer a reference to OTHER.
	delete(in.aliases, name)
	for _, k := range in.aliasedBy[name] {
		if in.aliases[k] == name {
			delete(in.aliases, k)
		}
	}
	delete(in.aliasedBy, name)
	v.name = name
	if old, ok := in.vars[name]; ok {
		v.line = old.line
	} else {
		v.line = line
		in.order = append(in.order, name)
	}
	in.vars[name] = v
}

// expand evaluates a word's parts. bad names the first construct that
// cannot be evaluated.
func (in *interp) expand(parts []part, depth int) (segs, string) {
	var b segsBuilder
	for _, p := range parts {
		switch p.kind {
		case partLit:
			b.add(seg{text: p.text})
		case partUnsupported:
			return nil, p.text
		case partParam:
			v, bad := in.param(p, depth)
			if bad != "" {
				return nil, bad
			}
			for _, x := range v {
				b.add(x)
			}
		}
		if b.n > maxValueLen {
			return nil, "a value longer than 64 KiB"
		}
	}
	return b.segs(), ""
}

// segsBuilder builds a value piece by piece in time linear in its length:
// adjacent literal text is gathered in one strings.Builder, and n is
// segsLen of what was added.
type segsBuilder struct {
	out segs
	lit strings.Builder
	n   int
}

func (b *segsBuilder) add(x seg) {
	b.n += len(x.text) + 3
	if !x.ref {
		b.lit.WriteString(x.text)
		return
	}
	b.flush()
	b.out = append(b.out, x)
}

func (b *segsBuilder) flush() {
	if b.lit.Len() > 0 {
		b.out = append(b.out, seg{text: b.lit.String()})
		b.lit.Reset()
	}
}

func (b *segsBuilder) segs() segs {
	b.flush()
	return b.out
}

// maxValueLen bounds an expanded value: A=$A$A repeated would otherwise
// double without limit.
const maxValueLen = 64 << 10

// maxTotalLen bounds all values together: many B=$A lines after A grew to
// 64 KiB would otherwise need gigabytes.
const maxTotalLen = 1 << 20

func varLen(v *shellVar) int {
	n := segsLen(v.value)
	for _, e := range v.array {
		n += segsLen(e)
	}
	return n
}

func segsLen(s segs) int {
	n := 0
	for _, x := range s {
		n += len(x.text) + 3
	}
	return n
}

func (in *interp) param(p part, depth int) (segs, string) {
	if depth > maxNesting {
		return nil, "${...} nested too deeply"
	}
	v, set := in.vars[p.text]
	var val segs
	if d, known := stackrcDefault(p.text); known && !set {
		val, set = d, true
	} else if set {
		val = v.value
		if v.isArray {
			val = nil
			if len(v.array) > 0 {
				val = v.array[0]
			}
		}
	}
	empty := len(val) == 0 || (len(val) == 1 && !val[0].ref && val[0].text == "")
	arg := func() (segs, string) { return in.expand(p.arg, depth+1) }
	if secretRE.MatchString(p.text) {
		return in.secretParam(p, set, empty, arg)
	}
	switch p.op {
	case "":
		if !set {
			return segs{{text: p.text, ref: true}}, ""
		}
		return val, ""
	case ":-", "-", ":=", "=":
		useArg := !set || (strings.HasPrefix(p.op, ":") && empty)
		if !useArg {
			return val, ""
		}
		a, bad := arg()
		if bad == "" && (p.op == ":=" || p.op == "=") {
			in.set(p.text, &shellVar{value: a}, in.line)
		}
		return a, bad
	case ":+", "+":
		if set && (p.op == "+" || !empty) {
			return arg()
		}
		return nil, ""
	}
	return nil, "${" + p.text + p.op + "...}"
}

// secretParam expands a reference to a credential ($MYSQL_PASSWORD,
// ${ADMIN_PASSWORD:-admin}) to the reference itself, never to its value:
// the value goes no further than the credential's own setting, which Import
// reads from the environment. A default word (${NAME:-word}) may be the
// value, so it is evaluated (for ${NAME:=word}'s assignment and the
// constructs it may not support) but not used; ${NAME:+word} yields word.
func (in *interp) secretParam(p part, set, empty bool, arg func() (segs, string)) (segs, string) {
	ref := segs{{text: p.text, ref: true}}
	switch p.op {
	case "":
		return ref, ""
	case ":-", "-", ":=", "=":
		if set && !(strings.HasPrefix(p.op, ":") && empty) {
			return ref, ""
		}
		a, bad := arg()
		if bad != "" {
			// the construct may be the value: name the whole expansion
			return nil, "${" + p.text + p.op + "...}"
		}
		if p.op == ":=" || p.op == "=" {
			in.set(p.text, &shellVar{value: a}, in.line)
		}
		return ref, ""
	case ":+", "+":
		if set && (p.op == "+" || !empty) {
			a, bad := arg() // the alternative word, not the credential's value
			if bad != "" {
				return nil, "${" + p.text + p.op + "...}"
			}
			return a, ""
		}
		return nil, ""
	}
	return nil, "${" + p.text + p.op + "...}"
}

// joinSegs concatenates values, merging adjacent literal text.
func joinSegs(a, b segs) segs {
	out := append(segs{}, a...)
	for _, x := range b {
		if n := len(out); n > 0 && !x.ref && !out[n-1].ref {
			out[n-1].text += x.text
			continue
		}
		out = append(out, x)
	}
	return out
}

// wordText is a word's text for messages and keyword matching: literal
// parts as written, expansions as $NAME.
func wordText(w word) string {
	var b strings.Builder
	writeParts(&b, w.parts)
	if w.isArr {
		b.WriteString("(...)")
	}
	return b.String()
}

func writeParts(b *strings.Builder, parts []part) {
	for _, p := range parts {
		switch p.kind {
		case partLit, partUnsupported:
			b.WriteString(p.text)
		case partParam:
			if p.op == "" {
				b.WriteString("${" + p.text + "}")
				continue
			}
			b.WriteString("${" + p.text + p.op)
			writeParts(b, p.arg)
			b.WriteString("}")
		}
	}
}

// secretCommand is what a warning shows instead of a command that mentions
// a credential.
const secretCommand = "a command that mentions a credential (not shown)"

// notCommand is what a warning shows instead of a line whose first word
// cannot be a command's name.
const notCommand = "a line that is not a shell command (not shown)"

// commandNameRE is what the first word of a command a warning quotes looks
// like: a program, function or builtin name or a path ("[" is test).
var commandNameRE = regexp.MustCompile(`^(?:[A-Za-z0-9_./+-]+|\[\[?|\{|\}|!)$`)

// commandText renders a command for a warning. A command that mentions a
// credential anywhere (ADMIN_PASSWORD=..., $MYSQL_PASSWORD, --password x)
// is not shown at all: its other words may be the value.
func commandText(c command) string {
	ts := make([]string, 0, len(c.words))
	for _, w := range c.words {
		ts = append(ts, wordText(w))
	}
	s := strings.Join(ts, " ")
	if mentionsSecret(s) {
		return secretCommand
	}
	if i := slices.IndexFunc(c.words, func(w word) bool { return !isAssignment(w) }); i >= 0 && !commandNameRE.MatchString(ts[i]) {
		// root:$6$...:19000:: is no command: a line of some other file,
		// which is not quoted (it may be anyone's secret).
		return notCommand
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
