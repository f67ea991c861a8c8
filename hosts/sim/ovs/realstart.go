package ovs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// What every real switch's start would ask again of the same programs:
// ovs-vswitchd's version and the database ovsdb-tool creates from the
// schema, which is the same file each time (the schema and nothing else).
// A simulator that starts many switches (a guest's at each of its boots)
// asks once.
var startFacts struct {
	sync.Mutex
	version map[string]string // by ovs-vswitchd's path
	db      map[string][]byte // by ovsdb-tool's path
}

// vswitchdVersion is the version ovs-vswitchd --version prints last on
// its first line.
func (s *realSwitch) vswitchdVersion(ctx context.Context) (string, error) {
	bin := s.bins["ovs-vswitchd"]
	startFacts.Lock()
	defer startFacts.Unlock()
	if v, ok := startFacts.version[bin]; ok {
		return v, nil
	}
	out, err := s.run(ctx, bin, "--version")
	if err != nil {
		return "", fmt.Errorf("ovs-vswitchd --version: %v: %s", err, tail(out))
	}
	v := ""
	if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) > 0 {
		v = f[len(f)-1]
	}
	if startFacts.version == nil {
		startFacts.version = map[string]string{}
	}
	startFacts.version[bin] = v
	return v, nil
}

// createDB makes the switch's empty database at path, as ovsdb-tool
// create does from SchemaPath: the first time by running it, later by
// writing the same bytes.
func (s *realSwitch) createDB(ctx context.Context, path string) error {
	bin := s.bins["ovsdb-tool"]
	startFacts.Lock()
	defer startFacts.Unlock()
	if data, ok := startFacts.db[bin]; ok {
		return os.WriteFile(path, data, 0o640)
	}
	if out, err := s.run(ctx, bin, "create", path, SchemaPath); err != nil {
		return fmt.Errorf("ovsdb-tool create %s: %v: %s", path, err, tail(out))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if startFacts.db == nil {
		startFacts.db = map[string][]byte{}
	}
	startFacts.db[bin] = data
	return nil
}

// vswitchdCtl is ovs-vswitchd's control socket, which it names after its
// pid (lib/unixctl.c unixctl_server_create).
func (s *realSwitch) vswitchdCtl() string {
	return filepath.Join(s.runDir, fmt.Sprintf("ovs-vswitchd.%d.ctl", s.daemons[1].cmd.Process.Pid))
}

// unixctlVersion asks the daemon whose control socket is ctl for its
// version, as `ovs-appctl -t CTL version` does (JSON-RPC over the unix
// socket, Open vSwitch's lib/unixctl.c), without a process for it: nil
// once the daemon answers.
func unixctlVersion(ctl string) error {
	c, err := net.DialTimeout("unix", ctl, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(`{"method":"version","params":[],"id":0}`)); err != nil {
		return err
	}
	var reply struct {
		Result any `json:"result"`
		Error  any `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&reply); err != nil {
		return err
	}
	if reply.Error != nil || reply.Result == nil {
		return errors.New("ovs-vswitchd answered version with an error")
	}
	return nil
}
