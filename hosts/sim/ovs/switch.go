// Package ovs gives each simulated host its own Open vSwitch: real
// ovsdb-server and ovs-vswitchd processes when they are installed and
// permitted, or an in-process model of the subset xenlab and the devstack
// stand-in use, with the same command-line interface and output formats.
package ovs

import "context"

// Mode says how a Switch is backed.
type Mode string

const (
	ModeAuto  Mode = "auto"  // real when possible, else model
	ModeReal  Mode = "real"  // ovsdb-server + ovs-vswitchd (userspace datapath)
	ModeModel Mode = "model" // in-process model
)

// Switch is one host's Open vSwitch.
type Switch interface {
	// Exec runs one command line of ovs-vsctl, ovs-ofctl or ovs-appctl
	// (argv[0] names the tool) against this switch, as the tool would.
	Exec(ctx context.Context, argv []string, stdin []byte) (Result, error)
	// BinDir is a directory of executables named ovs-vsctl, ovs-ofctl and
	// ovs-appctl that act on this switch; a host's shell puts it first on
	// PATH, so shell scripts and plugins run them as on a real host.
	BinDir() string
	// ToolDirs are the directories of this machine the BinDir tools need
	// at their paths: BinDir and the directory of their socket.
	ToolDirs() []string
	// Mode is ModeReal or ModeModel.
	Mode() Mode
	// Close stops whatever the switch started and removes its run files.
	Close() error
}

// Result is what a tool printed and its exit status.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}
