package ovs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"xenlab/internal/atomicfile"
)

// viaSimulator is the name, in a real switch's BinDir, of the ovs-vsctl
// front end that the direct ovs-vsctl hands a command line to when the
// simulator must see it (a bridge added, a database named).
const viaSimulator = ".ovs-vsctl"

// installDirectTools replaces the ovs-vsctl and ovs-ofctl front ends of a
// real switch's BinDir with shell scripts that run the real tool
// themselves, in the host that runs them (its namespaces, its cgroup, its
// working directory and standard input), with this switch's run directory
// as the tool's default (OVS_RUNDIR and the rest, as Exec gives them): on
// a real host the tools are run straight from dom0's shell too. A call so
// costs /bin/sh's start and the tool's, not also the start of the
// simulator's executable as front end and a round trip through the
// simulator, which then started the same tool (docs/performance.md).
//
// What Exec adds to an ovs-vsctl command line stays with Exec: a command
// line with an add-br (a new bridge gets the userspace datapath, no kernel
// module being assumed) or a --db option (dropped, so that no command
// reaches this machine's own Open vSwitch) is handed to the front end,
// kept as viaSimulator. ovs-appctl keeps its front end: run in a host's
// PID namespace it would find ovs-vswitchd's pid file locked by no process
// it can see, and call it stale. A tool installed where hosts do not see
// it at its path (anywhere but the read-only system directories) keeps its
// front end too.
func (s *realSwitch) installDirectTools() error {
	env := []string{}
	for _, kv := range s.env() {
		if strings.HasPrefix(kv, "OVS_") {
			k, v, _ := strings.Cut(kv, "=")
			env = append(env, k+"="+shQuote(v))
		}
	}
	exports := "export " + strings.Join(env, " ") + "\n"
	for _, tool := range []string{"ovs-ofctl", "ovs-vsctl"} {
		bin := s.bins[tool]
		if !systemPath(bin) {
			continue
		}
		path := filepath.Join(s.binDir, tool)
		var b strings.Builder
		fmt.Fprintf(&b, "#!/bin/sh\n# %s of this simulated host: the real one on the host's own switch, run by this\n# shell (package ovs, installDirectTools).\n", tool)
		if tool == "ovs-vsctl" {
			front := filepath.Join(s.binDir, viaSimulator)
			if err := os.Rename(path, front); err != nil {
				return fmt.Errorf("keep the ovs-vsctl front end: %w", err)
			}
			b.WriteString("# A command line that adds a bridge or names a database goes through the\n# simulator's front end.\n")
			fmt.Fprintf(&b, "for a do\n\tcase $a in\n\tadd-br | --db | --db=*) exec %s \"$@\" ;;\n\tesac\ndone\n", shQuote(front))
		}
		b.WriteString(exports)
		fmt.Fprintf(&b, "exec %s \"$@\"\n", shQuote(bin))
		if err := atomicfile.WriteBytes(path, 0o755, []byte(b.String())); err != nil {
			return fmt.Errorf("write tool %s: %w", tool, err)
		}
	}
	return nil
}

// systemPath reports whether a program's path is one a simulated host
// sees as this machine's (the system directories it is shown read-only;
// /usr/local is the host's own).
func systemPath(p string) bool {
	if !filepath.IsAbs(p) || strings.HasPrefix(p, "/usr/local/") {
		return false
	}
	for _, d := range []string{"/usr/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// shQuote quotes s as one word for /bin/sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DefaultRunDir is where the Open vSwitch tools look for their daemons
// when no option and no OVS_RUNDIR says otherwise (Debian's build), as
// dom0's tools find its switch on a real host.
const DefaultRunDir = "/var/run/openvswitch"

// HostBinds are, for a real switch, the directories its host should see
// read-only at other paths (sshd.Config.ReadOnlyBinds): the switch's run
// directory at DefaultRunDir, where the real tools, run in the host with
// no option, look for the host's switch. The model has none.
func HostBinds(sw Switch) map[string]string {
	if r, ok := sw.(*realSwitch); ok {
		return map[string]string{DefaultRunDir: r.runDir}
	}
	return nil
}

// SystemTool is the real program a host of a real switch runs as tool
// (ovs-ofctl) once UseSystemTool took the tool out of BinDir: its path in
// this machine's system directories, which a host sees read-only; "" for
// the model, another tool, or a program elsewhere.
func SystemTool(sw Switch, tool string) string {
	r, ok := sw.(*realSwitch)
	if !ok || tool != "ovs-ofctl" || !systemPath(r.bins[tool]) {
		return ""
	}
	return r.bins[tool]
}

// UseSystemTool takes tool out of a real switch's BinDir, for a host that
// sees the switch's run directory at DefaultRunDir (HostBinds bound in a
// root of its own): its commands then find the real program next on PATH,
// SystemTool, and run it with no shell before it, as on a real host. Only
// for such a host: elsewhere the program would look for this machine's own
// Open vSwitch. Nothing is done where SystemTool is "".
func UseSystemTool(sw Switch, tool string) error {
	if SystemTool(sw, tool) == "" {
		return nil
	}
	err := os.Remove(filepath.Join(sw.(*realSwitch).binDir, tool))
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("ovs: %w", err)
	}
	return nil
}
