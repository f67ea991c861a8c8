package xe

import (
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

const vmSelectorsInfo = " The simplest way to select the VM on which the operation is to be performed is by supplying the argument 'vm=<name or uuid>'. VMs can also be specified by filtering the full list of VMs on the values of fields. For example, specifying 'power-state=halted' will select all VMs whose power-state field is equal to 'halted'. Where multiple VMs are matching, the option '--multiple' must be specified to perform the operation. The full list of fields that can be matched can be obtained by the command 'xe vm-list params=all'. If no parameters to select VMs are given, the operation will be performed on all VMs."

// makeList is cli_frontend.ml's make_list: names joined by ", " in lines
// of at most about 78 columns, indented by four spaces.
func makeList(names []string) []string {
	if len(names) == 0 {
		return []string{"    "}
	}
	var lines []string
	cur := "    " + names[0]
	for _, n := range names[1:] {
		if len(cur)+len(n) > 74 {
			lines = append(lines, cur)
			cur = "    " + n
		} else {
			cur += ", " + n
		}
	}
	return append(lines, cur)
}

// doHelp is `xe help [command...] [--all] [--minimal]` (rio_help).
func doHelp(p *out, cmd command) {
	var asked []string
	for _, kv := range cmd.params {
		if !slices.Contains([]string{"server", "username", "password", "port", "minimal", "all"}, kv[0]) {
			asked = append(asked, kv[0])
		}
	}
	if len(asked) > 0 {
		for _, name := range asked {
			c, ok := commands[name]
			if !ok {
				p.list("Unknown command '" + name + "'")
				continue
			}
			optn := c.optn
			desc := c.help
			if c.vmSelectors {
				optn = append(slices.Clone(optn), "<vm-selectors>")
				desc += vmSelectorsInfo
			}
			p.table([][][2]string{{
				{"command name        ", name},
				{"reqd params     ", strings.Join(c.reqd, ", ")},
				{"optional params ", strings.Join(optn, ", ")},
				{"description     ", desc},
			}})
		}
		return
	}
	names := slices.Sorted(maps.Keys(commands))
	head := "Usage: xe <command> [-s server] [-pw passwd] [-p port] [-u user] [-pwf password-file]\n" +
		"  [command specific arguments]\n\n" +
		"To get help on a specific command: xe help <command>\n"
	if cmd.boolParam("all", false) {
		if p.minimal {
			p.list(names...)
			return
		}
		var hosts, vms, other []string
		for _, n := range names {
			switch {
			case strings.HasPrefix(n, "host-"):
				hosts = append(hosts, n)
			case strings.HasPrefix(n, "vm-"):
				vms = append(vms, n)
			default:
				other = append(other, n)
			}
		}
		p.list(head + "\nFull command list\n-----------------")
		p.list(makeList(hosts)...)
		p.list(makeList([]string{""})...)
		p.list(makeList(vms)...)
		p.list(makeList([]string{""})...)
		p.list(makeList(other)...)
		return
	}
	var std []string
	for _, n := range names {
		if commands[n].standard {
			std = append(std, n)
		}
	}
	if p.minimal {
		p.list(std...)
		return
	}
	p.list(head + "To get a full listing of commands: xe help --all\n\nCommon command list\n-------------------")
	p.list(makeList(std)...)
}

// randomMAC is record_util's random_mac_local: a random, locally
// administered unicast address.
func randomMAC() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	b[0] = b[0]&0xfe | 0x02
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// ToolstackRestart is dom0's xe-toolstack-restart: it restarts xapi (the
// simulator's, through its local socket; see xapid.RestartToolstack) and
// says so as the script does.
func ToolstackRestart(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "Stopping xapi: .. [  OK  ]")
	c := newClient(options{socket: localSocket(getenv)})
	if err := c.post("/xenlab-sim/toolstack-restart"); err != nil {
		fmt.Fprintf(stderr, "xe-toolstack-restart: xapi did not restart: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Starting xapi: ....start-of-day complete.\n                                                           [  OK  ]")
	fmt.Fprintln(stdout, "done.")
	return 0
}
