package ovs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"xenlab/hosts/sim/toolfront"
)

// ModelVersion is the Open vSwitch version the model reports.
const ModelVersion = "3.1.0"

// versionText is what each tool prints for --version.
var versionText = map[string]string{
	"ovs-vsctl":  "ovs-vsctl (Open vSwitch) %s\nDB Schema 8.3.1\n",
	"ovs-ofctl":  "ovs-ofctl (Open vSwitch) %s\nOpenFlow versions 0x1:0x6\n",
	"ovs-appctl": "ovs-appctl (Open vSwitch) %s\n",
}

// modelSwitch is a Switch backed by the in-process model.
type modelSwitch struct {
	runDir string // holds tools.sock
	mu     sync.Mutex
	m      *model
	binDir string
	srv    *toolfront.Server
	// removeRun deletes the run directory (the tool socket).
	removeRun func()
	once      sync.Once
}

// openModel starts a modelled switch whose tools live under dir.
func openModel(dir string) (*modelSwitch, error) {
	runDir, removeRun, err := makeRunDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model switch: %w", err)
	}
	s := &modelSwitch{m: newModel(runDir), binDir: filepath.Join(dir, "bin"), runDir: runDir, removeRun: removeRun}
	srv, err := startToolServer(filepath.Join(runDir, "tools.sock"), s.binDir, s.Exec)
	if err != nil {
		removeRun()
		return nil, fmt.Errorf("model switch in %s: %w", dir, err)
	}
	s.srv = srv
	return s, nil
}

// Exec runs one ovs-vsctl, ovs-ofctl or ovs-appctl command line.
func (s *modelSwitch) Exec(ctx context.Context, argv []string, stdin []byte) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if len(argv) == 0 {
		return Result{}, fmt.Errorf("ovs: empty command line")
	}
	tool := filepath.Base(argv[0])
	if len(argv) > 1 && (argv[1] == "--version" || argv[1] == "-V") {
		if v, ok := versionText[tool]; ok {
			return Result{Stdout: []byte(fmt.Sprintf(v, ModelVersion))}, nil
		}
	}
	switch tool {
	case "ovs-vsctl":
		return s.runVsctl(argv[1:]), nil
	case "ovs-ofctl":
		return s.runOfctl(argv[1:], stdin), nil
	case "ovs-appctl":
		return s.runAppctl(argv[1:]), nil
	}
	return Result{}, fmt.Errorf("ovs: %q is not an Open vSwitch tool", argv[0])
}

// BinDir holds the ovs-vsctl, ovs-ofctl and ovs-appctl front ends.
func (s *modelSwitch) BinDir() string { return s.binDir }

// ToolDirs are the directories the BinDir tools need: BinDir and the
// directory of the socket they reach the switch through.
func (s *modelSwitch) ToolDirs() []string { return []string{s.binDir, s.runDir} }

// Mode is ModeModel.
func (s *modelSwitch) Mode() Mode { return ModeModel }

// AddLink makes a network device named name exist on the host, so a
// system port of that name opens.
func (s *modelSwitch) AddLink(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m.devices[name] {
		return fmt.Errorf("ovs model: add link %s: device exists", name)
	}
	s.m.devices[name] = true
	return nil
}

// DelLink removes the network device name, if there is one.
func (s *modelSwitch) DelLink(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m.devices, name)
	return nil
}

// Close stops the tool server and removes the tools and socket.
func (s *modelSwitch) Close() error {
	var err error
	s.once.Do(func() {
		err = s.srv.Close()
		_ = os.RemoveAll(s.binDir)
		s.removeRun()
	})
	return err
}
