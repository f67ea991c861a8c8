package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"xenlab/hosts/sim/ovs"
	"xenlab/internal/ovsjson"
)

// A guest's Open vSwitch database outlives the guest's reboot, as Ubuntu
// keeps /etc/openvswitch/conf.db (the openvswitch-switch package's
// init script starts ovsdb-server on the database it finds): bridges,
// ports and interfaces with their columns come back, the flows do not
// (they are ovs-vswitchd's, in memory: a restarted switch has only its
// bridges' default NORMAL flow). The simulator starts every guest's switch
// anew, so at a stop it keeps what the database held in the guest's
// directory (guestDBFile) and gives it back at the next boot.

// guestDBFile is where a stopped guest's switch database is kept.
const guestDBFile = "ovsdb.json"

type savedSwitch struct {
	Bridges []savedBridge `json:"bridges"`
}

type savedBridge struct {
	Name        string            `json:"name"`
	ExternalIDs map[string]string `json:"external_ids,omitempty"`
	Ports       []savedPort       `json:"ports,omitempty"`
}

type savedPort struct {
	Name        string            `json:"name"`
	Tag         string            `json:"tag,omitempty"`
	Type        string            `json:"type,omitempty"`
	Options     map[string]string `json:"options,omitempty"`
	ExternalIDs map[string]string `json:"external_ids,omitempty"`
}

// saveGuestSwitch writes what sw's database holds to dir/guestDBFile.
func saveGuestSwitch(ctx context.Context, sw ovs.Switch, dir string) error {
	res, err := sw.Exec(ctx, []string{"ovs-vsctl", "--format=json", "--columns=name,external_ids,ports", "list", "Bridge",
		"--", "--columns=_uuid,name,tag", "list", "Port",
		"--", "--columns=name,type,options,external_ids", "list", "Interface"}, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("ovs-vsctl list: exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	var tables []struct{ Data [][]any }
	for _, l := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		var t struct{ Data [][]any }
		if err := json.Unmarshal([]byte(l), &t); err != nil {
			return fmt.Errorf("ovs-vsctl list: %w", err)
		}
		tables = append(tables, t)
	}
	if len(tables) != 3 {
		return fmt.Errorf("ovs-vsctl list: %d tables, want 3", len(tables))
	}
	type port struct {
		savedPort
		bridge string
	}
	portOf := map[string]string{} // port uuid -> bridge
	var saved savedSwitch
	for _, row := range tables[0].Data {
		if len(row) != 3 {
			continue
		}
		b := savedBridge{Name: ovsjson.Atom(row[0]), ExternalIDs: ovsjson.Map(row[1])}
		for _, u := range ovsjson.UUIDs(row[2]) {
			portOf[u] = b.Name
		}
		saved.Bridges = append(saved.Bridges, b)
	}
	ports := map[string]*port{}
	for _, row := range tables[1].Data {
		if len(row) != 3 {
			continue
		}
		us := ovsjson.UUIDs(row[0])
		if len(us) != 1 || portOf[us[0]] == "" {
			continue
		}
		p := &port{bridge: portOf[us[0]]}
		p.Name, p.Tag = ovsjson.Atom(row[1]), ovsjson.Atom(row[2])
		ports[p.Name] = p
	}
	for _, row := range tables[2].Data {
		if len(row) != 4 {
			continue
		}
		if p, ok := ports[ovsjson.Atom(row[0])]; ok {
			p.Type, p.Options, p.ExternalIDs = ovsjson.Atom(row[1]), ovsjson.Map(row[2]), ovsjson.Map(row[3])
		}
	}
	for i := range saved.Bridges {
		for _, p := range ports {
			if p.bridge == saved.Bridges[i].Name && p.Name != p.bridge {
				saved.Bridges[i].Ports = append(saved.Bridges[i].Ports, p.savedPort)
			}
		}
		slices.SortFunc(saved.Bridges[i].Ports, func(a, b savedPort) int { return strings.Compare(a.Name, b.Name) })
	}
	b, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, guestDBFile), b, 0o600)
}

// restoreGuestSwitch gives sw, just started, the database kept by
// saveGuestSwitch in dir, in one ovs-vsctl run. A system port whose device
// the guest no longer has (a VIF removed while it was down) is left out:
// ovs-vswitchd would keep it with an error. No file: nothing to restore.
func restoreGuestSwitch(ctx context.Context, sw ovs.Switch, dir string, devices []string) error {
	b, err := os.ReadFile(filepath.Join(dir, guestDBFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var saved savedSwitch
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("%s: %w", guestDBFile, err)
	}
	argv := []string{"ovs-vsctl"}
	add := func(words ...string) {
		if len(argv) > 1 {
			argv = append(argv, "--")
		}
		argv = append(argv, words...)
	}
	for _, br := range saved.Bridges {
		add("--may-exist", "add-br", br.Name)
		for _, k := range sortedKeys(br.ExternalIDs) {
			add("br-set-external-id", br.Name, k, br.ExternalIDs[k])
		}
	}
	for _, br := range saved.Bridges {
		for _, p := range br.Ports {
			if (p.Type == "" || p.Type == "system") && !slices.Contains(devices, p.Name) {
				continue
			}
			add("--may-exist", "add-port", br.Name, p.Name)
			set := []string{"set", "Interface", p.Name}
			if p.Type != "" {
				set = append(set, "type="+p.Type)
			}
			for _, k := range sortedKeys(p.Options) {
				set = append(set, fmt.Sprintf("options:%s=%q", k, p.Options[k]))
			}
			for _, k := range sortedKeys(p.ExternalIDs) {
				set = append(set, fmt.Sprintf("external_ids:%s=%q", k, p.ExternalIDs[k]))
			}
			if len(set) > 3 {
				add(set...)
			}
			if p.Tag != "" {
				add("set", "Port", p.Name, "tag="+p.Tag)
			}
		}
	}
	if len(argv) == 1 {
		return nil
	}
	res, err := sw.Exec(ctx, argv, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("ovs-vsctl: exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
