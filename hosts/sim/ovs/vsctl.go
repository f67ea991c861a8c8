package ovs

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// toolError is a failure a tool reports: its message (without the tool
// prefix) and exit status.
type toolError struct {
	msg  string
	code int
}

func (e *toolError) Error() string { return e.msg }

func failf(format string, a ...any) error {
	return &toolError{msg: fmt.Sprintf(format, a...), code: 1}
}

// vsctlCmd is one command of an ovs-vsctl invocation with its options.
type vsctlCmd struct {
	name string
	args []string
	opts map[string]string
}

// vsctlGlobal lists the global options the model accepts and ignores
// (they select the database or how long to wait, which the model need not).
var vsctlGlobal = map[string]bool{
	"--db": true, "--timeout": true, "-t": true, "--no-wait": true, "--no-syslog": true,
	"--dry-run": true, "--retry": true, "-v": true, "--verbose": true, "--oneline": true,
}

// vsctlCmdOpts lists the per-command options the model implements.
var vsctlCmdOpts = map[string]bool{
	"--may-exist": true, "--if-exists": true, "--bare": true, "--columns": true,
	"--format": true, "-f": true,
}

// parseVsctl splits ovs-vsctl's arguments into commands, as ovs-vsctl
// does: options, then a command and its arguments, commands separated by
// "--". Table-format options given before the first command apply to all.
func parseVsctl(args []string) (cmds []vsctlCmd, global map[string]string, err error) {
	global = map[string]string{}
	cur := vsctlCmd{opts: map[string]string{}}
	flush := func() {
		if cur.name != "" {
			cmds = append(cmds, cur)
		}
		cur = vsctlCmd{opts: map[string]string{}}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			flush()
			continue
		}
		if cur.name == "" && strings.HasPrefix(a, "-") {
			key, val, _ := strings.Cut(a, "=")
			switch {
			case vsctlGlobal[key]:
				if key == "-t" && !strings.Contains(a, "=") && i+1 < len(args) {
					i++
				}
				if key == "--oneline" {
					global["--oneline"] = ""
				}
			case vsctlCmdOpts[key]:
				if (key == "-f" || key == "-d") && !strings.Contains(a, "=") && i+1 < len(args) {
					i++
					val = args[i]
				}
				cur.opts[key] = val
				if len(cmds) == 0 {
					global[key] = val
				}
			default:
				return nil, nil, failf("unrecognized option '%s'", a)
			}
			continue
		}
		if cur.name == "" {
			cur.name = a
			continue
		}
		cur.args = append(cur.args, a)
	}
	flush()
	if len(cmds) == 0 {
		return nil, nil, failf("missing command name (use --help for help)")
	}
	for i := range cmds {
		for k, v := range global {
			if _, ok := cmds[i].opts[k]; !ok && k != "--may-exist" && k != "--if-exists" {
				cmds[i].opts[k] = v
			}
		}
	}
	return cmds, global, nil
}

// vsctlArity is the minimum and maximum argument count of each command.
var vsctlArity = map[string][2]int{
	"init": {0, 0}, "show": {0, 0}, "add-br": {1, 3}, "del-br": {1, 1}, "br-exists": {1, 1},
	"list-br": {0, 0}, "list-ports": {1, 1}, "list-ifaces": {1, 1}, "add-port": {2, 1 << 20},
	"del-port": {1, 2}, "port-to-br": {1, 1}, "iface-to-br": {1, 1}, "br-to-vlan": {1, 1},
	"br-to-parent":       {1, 1},
	"br-set-external-id": {2, 3}, "br-get-external-id": {1, 2}, "get": {3, 1 << 20},
	"set": {3, 1 << 20}, "clear": {3, 1 << 20}, "remove": {4, 1 << 20}, "find": {1, 1 << 20},
	"list": {1, 1 << 20}, "set-fail-mode": {2, 2}, "get-fail-mode": {1, 1}, "del-fail-mode": {1, 1},
}

// runVsctl runs one ovs-vsctl invocation against m as one transaction:
// all commands apply, or none does.
func (s *modelSwitch) runVsctl(args []string) Result {
	cmds, global, err := parseVsctl(args)
	if err != nil {
		return toolResult("ovs-vsctl", nil, err)
	}
	for _, c := range cmds {
		ar, ok := vsctlArity[c.name]
		if !ok {
			return toolResult("ovs-vsctl", nil, failf("unknown command '%s'; use --help for help", c.name))
		}
		if len(c.args) < ar[0] {
			return toolResult("ovs-vsctl", nil, failf("'%s' command requires at least %d arguments", c.name, ar[0]))
		}
		if len(c.args) > ar[1] {
			return toolResult("ovs-vsctl", nil, failf("'%s' command takes at most %d arguments", c.name, ar[1]))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.m.clone()
	var outs []string
	for _, c := range cmds {
		out, err := tx.vsctl(c)
		if err != nil {
			return toolResult("ovs-vsctl", nil, err)
		}
		outs = append(outs, out)
	}
	warns := tx.reconfigure()
	s.m = tx
	var stdout strings.Builder
	for _, o := range outs {
		if _, one := global["--oneline"]; one {
			stdout.WriteString(strings.ReplaceAll(strings.TrimSuffix(o, "\n"), "\n", `\n`) + "\n")
		} else {
			stdout.WriteString(o)
		}
	}
	var stderr strings.Builder
	for _, w := range warns {
		fmt.Fprintf(&stderr, "ovs-vsctl: Error detected while setting up '%s': %s.  See ovs-vswitchd log for details.\n", w.iface, w.msg)
		fmt.Fprintf(&stderr, "ovs-vsctl: The default log directory is \"%s\".\n", tx.logDir)
	}
	return Result{Stdout: []byte(stdout.String()), Stderr: []byte(stderr.String())}
}

func (m *model) vsctl(c vsctlCmd) (string, error) {
	_, mayExist := c.opts["--may-exist"]
	_, ifExists := c.opts["--if-exists"]
	a := c.args
	switch c.name {
	case "init":
		return "", nil
	case "show":
		return m.show(), nil
	case "add-br":
		if len(a) != 1 {
			return "", failf("'add-br' with a parent and VLAN (fake bridge) is not modelled")
		}
		if m.bridge(a[0]) != nil {
			if mayExist {
				return "", nil
			}
			return "", failf("cannot create a bridge named %s because a bridge named %s already exists", a[0], a[0])
		}
		if b, _ := m.findPort(a[0]); b != nil {
			return "", failf("cannot create a bridge named %s because a port named %s already exists on bridge %s", a[0], a[0], b.strs["name"])
		}
		m.addBridge(a[0])
		return "", nil
	case "del-br":
		b := m.bridge(a[0])
		if b == nil {
			if ifExists {
				return "", nil
			}
			return "", failf("no bridge named %s", a[0])
		}
		m.delBridge(b)
		return "", nil
	case "br-exists":
		if m.bridge(a[0]) == nil {
			return "", &toolError{code: 2}
		}
		return "", nil
	case "list-br":
		var out strings.Builder
		for _, b := range m.sortedBridges() {
			out.WriteString(b.strs["name"] + "\n")
		}
		return out.String(), nil
	case "list-ports", "list-ifaces":
		b := m.bridge(a[0])
		if b == nil {
			return "", failf("no bridge named %s", a[0])
		}
		var names []string
		for _, p := range b.ports {
			if p.strs["name"] != a[0] {
				names = append(names, p.strs["name"])
			}
		}
		sort.Strings(names)
		return lines(names), nil
	case "add-port":
		return "", m.addPortCmd(a, mayExist)
	case "del-port":
		return "", m.delPortCmd(a, ifExists)
	case "port-to-br", "iface-to-br":
		b, _ := m.findPort(a[0])
		if b == nil || b.strs["name"] == a[0] {
			what := "port"
			if c.name == "iface-to-br" {
				what = "interface"
			}
			return "", failf("no %s named %s", what, a[0])
		}
		return b.strs["name"] + "\n", nil
	case "br-to-vlan":
		if m.bridge(a[0]) == nil {
			return "", failf("no bridge named %s", a[0])
		}
		return "0\n", nil
	case "br-to-parent":
		if m.bridge(a[0]) == nil {
			return "", failf("no bridge named %s", a[0])
		}
		return a[0] + "\n", nil
	case "br-set-external-id":
		b := m.bridge(a[0])
		if b == nil {
			return "", failf("no bridge named %s", a[0])
		}
		if len(a) == 3 {
			b.mapOf("external_ids")[a[1]] = a[2]
		} else {
			delete(b.mapOf("external_ids"), a[1])
		}
		return "", nil
	case "br-get-external-id":
		b := m.bridge(a[0])
		if b == nil {
			return "", failf("no bridge named %s", a[0])
		}
		ids := b.mapOf("external_ids")
		if len(a) == 2 {
			if v, ok := ids[a[1]]; ok {
				return v + "\n", nil
			}
			return "", nil
		}
		keys := slices.Sorted(maps.Keys(ids))
		for i, k := range keys {
			keys[i] = k + "=" + ids[k]
		}
		return lines(keys), nil
	case "set-fail-mode", "get-fail-mode", "del-fail-mode":
		return m.failMode(c.name, a)
	case "get":
		return m.dbGet(a, ifExists)
	case "set":
		return "", m.dbSet(a, ifExists)
	case "clear":
		return "", m.dbClear(a, ifExists)
	case "remove":
		return "", m.dbRemove(a, ifExists)
	case "find":
		return m.dbFind(a, c.opts)
	case "list":
		return m.dbList(a, c.opts)
	}
	return "", failf("unknown command '%s'; use --help for help", c.name)
}

func (m *model) failMode(cmd string, a []string) (string, error) {
	b := m.bridge(a[0])
	if b == nil {
		return "", failf("no bridge named %s", a[0])
	}
	switch cmd {
	case "set-fail-mode":
		if a[1] != "standalone" && a[1] != "secure" {
			return "", failf("fail-mode must be \"standalone\" or \"secure\"")
		}
		b.strs["fail_mode"] = a[1]
	case "del-fail-mode":
		delete(b.strs, "fail_mode")
	default:
		if v, ok := b.strs["fail_mode"]; ok {
			return v + "\n", nil
		}
	}
	return "", nil
}

func (m *model) addPortCmd(a []string, mayExist bool) error {
	brName, name := a[0], a[1]
	b := m.bridge(brName)
	if b == nil {
		return failf("no bridge named %s", brName)
	}
	if m.bridge(name) != nil {
		return failf("cannot create a port named %s because a bridge named %s already exists", name, name)
	}
	if ob, _ := m.findPort(name); ob != nil {
		if mayExist && ob == b {
			return nil
		}
		return failf("cannot create a port named %s because a port named %s already exists on bridge %s", name, name, ob.strs["name"])
	}
	p := m.addPort(b, name)
	for _, set := range a[2:] {
		if err := m.setColumn(schemaPort, p.row, set); err != nil {
			return err
		}
	}
	return nil
}

func (m *model) delPortCmd(a []string, ifExists bool) error {
	name := a[len(a)-1]
	b, p := m.findPort(name)
	if b != nil && b.strs["name"] == name {
		return failf("cannot delete port %s because it is the local port for bridge %s (deleting this port requires deleting the entire bridge)", name, name)
	}
	if b == nil {
		if ifExists {
			return nil
		}
		return failf("no port named %s", name)
	}
	if len(a) == 2 && b.strs["name"] != a[0] {
		if m.bridge(a[0]) == nil {
			return failf("no bridge named %s", a[0])
		}
		return failf("bridge %s does not have a port %s (although its parent bridge %s does)", a[0], name, b.strs["name"])
	}
	b.delPort(p)
	return nil
}

func lines(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.Join(ss, "\n") + "\n"
}

// toolResult renders a tool's outcome as the tool prints it.
func toolResult(tool string, stdout []byte, err error) Result {
	if err == nil {
		return Result{Stdout: stdout}
	}
	te, ok := err.(*toolError)
	if !ok {
		te = &toolError{msg: err.Error(), code: 1}
	}
	r := Result{Stdout: stdout, ExitCode: te.code}
	if te.msg != "" {
		r.Stderr = []byte(tool + ": " + te.msg + "\n")
	}
	return r
}
