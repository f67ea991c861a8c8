// Package xe is the `xe` command of the simulated host's dom0: XenServer's
// command-line interface, speaking XML-RPC to the host's xapi over its
// local socket (/var/xapi/xapi) or, with -s, over HTTPS, with xe's syntax
// (<class>-<op>, param=value, --minimal, params=, selectors on any field)
// and output formats (records as `name ( RO): value`, lists, maps
// `key: value; ...`, errors as xapi's CLI prints them).
//
// What it does was read from xen-api (tag XS62): ocaml/xe-cli/newcli.ml
// (the client's options), ocaml/xapi/cli_frontend.ml (the command line),
// cli_operations.ml (the commands), cli_printer.ml (the output),
// xapi_cli.ml (errors) and ocaml/client_records/records.ml (the fields).
// The real xe sends its command line to xapi, which runs the command; this
// one runs it on the client side over the API, so a command costs its
// API calls and one session.
//
// The simulator's binary is dom0's xe: dom0's /usr/local/bin/xe links to
// it, and Dispatch, called by init when the program is started under that
// name, runs it before anything else of the program.
package xe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Names are the program names this package answers to.
var Names = []string{"xe", "xe-toolstack-restart"}

func init() {
	// syscall.Exit, not os.Exit: a race-enabled binary (a test's, under
	// -race) sleeps a second in os.Exit (GORACE's atexit_sleep_ms), on
	// every xe call. os.Stdout and os.Stderr are not buffered.
	switch filepath.Base(os.Args[0]) {
	case "xe":
		stdin = os.Stdin
		syscall.Exit(Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	case "xe-toolstack-restart":
		syscall.Exit(ToolstackRestart(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
}

// options are the client's own (newcli.ml parse_args).
type options struct {
	server, user, password, pwfile, socket string
	port                                   int
	nossl                                  bool
}

// usage is newcli.ml's usage message.
func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: xe <cmd> [-s server] [-p port] ([-u username] [-pw password] or [-pwf <password file>]) <other arguments>\n")
	fmt.Fprintf(w, "\nA full list of commands can be obtained by running \n\txe help -s <server> -p <port>\n")
}

// parseClientArgs takes the client's options (-s, -p, -u, -pw, -pwf,
// --nossl and their key=value forms) out of args.
func parseClientArgs(args []string) (options, []string, bool, error) {
	var o options
	var rest []string
	help := false
	setKey := func(k, v string) (bool, error) {
		switch k {
		case "server":
			o.server = v
		case "port":
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 65535 {
				return true, errors.New("Port number must be an integer (0-65535)")
			}
			o.port = p
		case "username":
			o.user = v
		case "password":
			o.password = v
		case "passwordfile":
			o.pwfile = v
		case "nossl":
			o.nossl = v == "true"
		case "debug", "debugonfail":
		default:
			return false, nil
		}
		return true, nil
	}
	opts := map[string]string{"-s": "server", "-h": "server", "-p": "port", "-u": "username", "-pw": "password", "-pwf": "passwordfile"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-help" || a == "--help" {
			help = true
			continue
		}
		if k, ok := opts[a]; ok && i+1 < len(args) {
			if _, err := setKey(k, args[i+1]); err != nil {
				return o, nil, false, err
			}
			i++
			continue
		}
		switch a {
		case "--nossl":
			o.nossl = true
			continue
		case "--debug", "--debug-on-fail":
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			if known, err := setKey(k, v); err != nil {
				return o, nil, false, err
			} else if known {
				continue
			}
		}
		rest = append(rest, a)
	}
	return o, rest, help, nil
}

// command is a parsed command line (cli_frontend.ml parse_commandline).
type command struct {
	name   string
	params [][2]string
}

func (c command) has(k string) bool {
	for _, p := range c.params {
		if p[0] == k {
			return true
		}
	}
	return false
}

func (c command) get(k string) string {
	for _, p := range c.params {
		if p[0] == k {
			return p[1]
		}
	}
	return ""
}

// boolParam is cli_util's get_bool_param: true for true/1/yes (any case).
func (c command) boolParam(k string, def bool) bool {
	if !c.has(k) {
		return def
	}
	switch strings.ToLower(c.get(k)) {
	case "true", "t", "1", "yes", "y", "on":
		return true
	}
	return false
}

// switches are cli_frontend.ml's dyadic switches.
var switches = map[string]string{"-u": "username", "-pw": "password", "-s": "server", "-h": "server", "-p": "port"}

// syntaxError is cli_frontend's ParseError.
type syntaxError string

func (e syntaxError) Error() string { return string(e) }

func parseCommand(args []string) (command, error) {
	if len(args) == 0 {
		return command{}, syntaxError("")
	}
	c := command{name: args[0]}
	if strings.Contains(c.name, "=") {
		return c, syntaxError("command name is missing")
	}
	ps := args[1:]
	for i := 0; i < len(ps); i++ {
		p := ps[i]
		switch {
		case strings.HasPrefix(p, "--"):
			c.params = append(c.params, [2]string{p[2:], "true"})
		case strings.HasPrefix(p, "-"):
			if i+1 >= len(ps) {
				return c, syntaxError("")
			}
			k, ok := switches[p]
			if !ok {
				return c, syntaxError("Unknown switch: " + p)
			}
			c.params = append(c.params, [2]string{k, ps[i+1]})
			i++
		default:
			k, v, _ := strings.Cut(p, "=")
			c.params = append(c.params, [2]string{k, v})
		}
	}
	return c, nil
}

// out collects what xe prints: records and lists as cli_printer.ml
// prints them, or, with --minimal, the first field of each record (or
// each list item) joined by commas.
type out struct {
	w       io.Writer
	minimal bool
	buf     []string
}

func escapeCommas(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`).Replace(s)
}

// table prints records: each a block of `name: value` lines, the first
// name padded on the right and the others on the left to 4 more than the
// longest, then a blank line (and print's own newline).
func (o *out) table(recs [][][2]string) {
	if o.minimal {
		if len(recs) > 0 && len(recs[0]) > 0 {
			var names []string
			for _, r := range recs {
				names = append(names, escapeCommas(r[0][1]))
			}
			o.buf = append(o.buf, strings.Join(names, ","))
		}
		return
	}
	for _, r := range recs {
		width := 0
		for _, kv := range r {
			width = max(width, len(kv[0]))
		}
		width += 4
		var b strings.Builder
		for i, kv := range r {
			pad := strings.Repeat(" ", max(0, width-len(kv[0])))
			if i == 0 {
				b.WriteString(kv[0] + pad)
			} else {
				b.WriteString(pad + kv[0])
			}
			b.WriteString(": " + kv[1] + "\n")
		}
		b.WriteString("\n")
		// cli_printer prints the record and a newline with print_endline:
		// two blank lines after each record.
		fmt.Fprintln(o.w, b.String())
	}
}

func (o *out) list(items ...string) {
	if o.minimal {
		esc := make([]string, len(items))
		for i, s := range items {
			esc[i] = escapeCommas(s)
		}
		o.buf = append(o.buf, strings.Join(esc, ","))
		return
	}
	for _, s := range items {
		fmt.Fprintln(o.w, s)
	}
}

func (o *out) flush() {
	if o.minimal {
		fmt.Fprintln(o.w, strings.Join(o.buf, ","))
	}
}

// Main runs xe with its arguments (after the program name) and returns
// its exit status.
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if slicesContains(args, "-version") {
		fmt.Fprintln(stdout, "ThinCLI protocol: 0.2")
		return 0
	}
	o, rest, help, err := parseClientArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		usage(stderr)
		return 0
	}
	if help || len(rest) == 0 {
		usage(stderr)
		return 0
	}
	if o.pwfile != "" {
		data, err := os.ReadFile(o.pwfile)
		if err != nil {
			fmt.Fprintf(stderr, "Error opening password file '%s'\n", o.pwfile)
			return 1
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) < 2 {
			fmt.Fprintln(stderr, "Error: password file format: expecting username on the first line, password on the second line")
			return 1
		}
		o.user, o.password = lines[0], lines[1]
	}
	o.socket = localSocket(getenv)
	cmd, err := parseCommand(append([]string{}, rest...))
	if err != nil {
		return paramError(stderr, "Syntax error", string(err.(syntaxError)))
	}
	return run(o, cmd, stdout, stderr)
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// paramError is xapi_cli.ml's param_error.
func paramError(w io.Writer, s, t string) int {
	if s != "" {
		fmt.Fprintf(w, "%s: %s\n", s, t)
	} else {
		fmt.Fprintln(w, t)
	}
	fmt.Fprintln(w, "For usage run: 'xe help'")
	return 1
}

// cliFailure is a failwith in cli_operations.ml: xapi reports it as
// INTERNAL_ERROR ["Failure: <message>"]. recordFailure is record_util's
// Record_failure, printed as "Error: <message>".
type cliFailure string
type recordFailure string

func (e cliFailure) Error() string    { return string(e) }
func (e recordFailure) Error() string { return string(e) }

func run(o options, cmd command, stdout, stderr io.Writer) int {
	spec, ok := lookupCommand(cmd.name)
	if !ok {
		return paramError(stderr, "Unknown command", cmd.name)
	}
	for _, k := range spec.reqd {
		if !cmd.has(k) {
			return paramError(stderr, "Required parameter not found", k)
		}
	}
	minimal := cmd.boolParam("minimal", false)
	pr := &out{w: stdout, minimal: minimal}
	if spec.local != nil { // help: no session
		spec.local(pr, cmd)
		pr.flush()
		return 0
	}
	c := newClient(o)
	if err := c.login(o.user, o.password); err != nil {
		return reportError(newState(c), stdout, stderr, err, o)
	}
	defer c.logout()
	s := newState(c)
	if err := spec.run(s, pr, cmd); err != nil {
		return reportError(s, stdout, stderr, err, o)
	}
	pr.flush()
	return 0
}

// reportError prints an error as xapi's CLI does (xapi_cli.ml
// exception_handler, cli_util.ml server_error) and newcli prints what it
// is sent; every error exits 1.
func reportError(s *state, stdout, w io.Writer, err error, o options) int {
	var ae *apiError
	var ce *connectError
	var cf cliFailure
	var rf recordFailure
	var mp missingParam
	var mf multipleFailure
	switch {
	case errors.As(err, &mf):
		for _, l := range mf {
			fmt.Fprintln(stdout, l)
		}
	case errors.As(err, &mp):
		serverError(s, w, "Missing parameter", []string{string(mp)})
	case errors.As(err, &ce):
		if o.server == "" {
			fmt.Fprintln(w, "Failed to contact a running XenServer management agent.")
			fmt.Fprintln(w, "Try specifying a server name and port.")
			usage(w)
			return 1
		}
		fmt.Fprintln(w, "Unable to contact server. Please check server and port settings.")
		return 1
	case errors.As(err, &ae):
		if ae.code == "SESSION_AUTHENTICATION_FAILED" {
			if len(ae.params) == 0 || ae.params[0] == "" {
				return paramError(w, "", "Username/password must be specified")
			}
			return paramError(w, "", "Authentication failed")
		}
		serverError(s, w, ae.code, ae.params)
	case errors.As(err, &cf):
		serverError(s, w, "INTERNAL_ERROR", []string{"Failure: " + string(cf)})
	case errors.As(err, &rf):
		fmt.Fprintln(w, "Error: "+string(rf))
	default:
		serverError(s, w, "INTERNAL_ERROR", []string{err.Error()})
	}
	return 1
}
