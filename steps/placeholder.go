package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"xenlab/hosts"
	"xenlab/hosts/ssh"
	"xenlab/hosts/xapi"
	"xenlab/internal/ovsjson"
	"xenlab/localrc"
	"xenlab/provision"
)

// DeadVLAN is the VLAN no traffic uses: the placeholder port sits on it.
const DeadVLAN = "4095"

// placeholder makes the integration network's bridge exist in dom0 and
// carry nothing of the placeholder's. With the placeholder method, the
// integration VIF's dom0 port, found by its external_ids:xs-vif-uuid (its
// name vif<domid>.<device> changes with every boot), is set to VLAN 4095;
// Check reads the port every run, so a reboot that re-added it untagged
// is repaired. With the attach method, network.attach makes the bridge and
// there is no placeholder VIF.
type placeholder struct {
	host *hosts.Host
	lab  *localrc.Config
}

func (p *placeholder) Name() string   { return "bridge-placeholder" }
func (p *placeholder) Deps() []string { return []string{"guest-network"} }

// portState is the placeholder's dom0 port: its name and VLAN tag ("" for
// none).
type portState struct{ name, tag string }

// readPort finds the port of the VIF with this uuid on dom0's switch: one
// ovs-vsctl, no shell (a switch command alone is the cheapest a host runs),
// finds the VIF's interface by its external_ids:xs-vif-uuid and lists the
// ports' tags; a VIF's port has its interface's name.
func readPort(ctx context.Context, dom0 *ssh.Client, vifUUID string) (portState, error) {
	cmd := "ovs-vsctl --format=json --columns=name find Interface external_ids:xs-vif-uuid=" + ssh.ShellQuote(vifUUID) +
		" -- --columns=name,tag list Port"
	res, err := dom0.Run(ctx, cmd, ssh.Idempotent())
	if err != nil {
		return portState{}, err
	}
	if res.ExitStatus != 0 {
		return portState{}, fmt.Errorf("dom0: %s: exit %d: %s", cmd, res.ExitStatus, strings.TrimSpace(string(res.Stderr)))
	}
	return parsePortAnswer(vifUUID, res.Stdout)
}

// parsePortAnswer reads readPort's answer: two JSON tables, one a line
// (ovs-vsctl's --format=json, Open vSwitch 1.4's lib/table.c as 3.1's),
// the VIF's interface's name, then every port's name and tag (a number,
// or the empty set ["set",[]] for none).
func parsePortAnswer(vifUUID string, stdout []byte) (portState, error) {
	var tables [2]struct{ Data [][]any }
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	for i := range tables {
		if len(lines) != len(tables) || json.Unmarshal([]byte(lines[i]), &tables[i]) != nil {
			return portState{}, fmt.Errorf("dom0: unexpected answer for the port of VIF %s: %q", vifUUID, stdout)
		}
	}
	ifaces := tables[0].Data
	if len(ifaces) == 0 {
		return portState{}, fmt.Errorf("dom0: no Open vSwitch port has external_ids:xs-vif-uuid=%s (is domU running?)", vifUUID)
	}
	if len(ifaces) != 1 || len(ifaces[0]) != 1 {
		return portState{}, fmt.Errorf("dom0: unexpected answer for the port of VIF %s: %q", vifUUID, stdout)
	}
	name := ovsjson.Atom(ifaces[0][0])
	for _, row := range tables[1].Data {
		if len(row) == 2 && ovsjson.Atom(row[0]) == name {
			return portState{name: name, tag: ovsjson.Atom(row[1])}, nil
		}
	}
	return portState{}, fmt.Errorf("dom0: interface %s of VIF %s is on no port", name, vifUUID)
}

func (p *placeholder) attachMode() bool {
	return p.lab.Networks.IntegrationBridge == localrc.BridgeAttach
}

func (p *placeholder) Check(ctx context.Context) (bool, error) {
	inv, err := p.host.Inventory(ctx)
	if err != nil {
		return false, err
	}
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return false, err
	}
	if p.attachMode() {
		_, br, err := viewOf(inv, p.lab).integrationBridge()
		if err != nil {
			return false, nil // networks will make it
		}
		res, err := dom0.Run(ctx, "if ovs-vsctl br-exists "+ssh.ShellQuote(br)+"; then echo yes; else echo no; fi", ssh.Idempotent())
		return err == nil && strings.TrimSpace(string(res.Stdout)) == "yes", err
	}
	_, vif, ok := viewOf(inv, p.lab).placeholderVIF()
	if !ok || !vif.CurrentlyAttached {
		return false, nil // missing (step domU), domU halted (step boot), or unplugged by hand
	}
	st, err := readPort(ctx, dom0, vif.UUID)
	if err != nil {
		return false, nil // Apply says why
	}
	return st.tag == DeadVLAN, nil
}

func (p *placeholder) Apply(ctx context.Context, out provision.Output) error {
	inv, err := p.host.Inventory(ctx)
	if err != nil {
		return err
	}
	if p.attachMode() {
		net, br, err := viewOf(inv, p.lab).integrationBridge()
		if err != nil {
			return err
		}
		host, _, ok := hosts.Only(inv.Hosts)
		if !ok {
			return fmt.Errorf("network.attach needs the one host of the pool; xapi lists %d", len(inv.Hosts))
		}
		c, err := p.host.XAPI(ctx)
		if err != nil {
			return err
		}
		defer p.host.Changed()
		if err := c.NetworkAttach(ctx, net, host); err != nil {
			return err
		}
		out.Line("network.attach: bridge %s of %q exists in dom0", br, p.lab.Networks.Integration)
		return nil
	}
	ref, vif, ok := viewOf(inv, p.lab).placeholderVIF()
	if !ok {
		return errors.New("domU has no placeholder VIF (step domU)")
	}
	if !vif.CurrentlyAttached {
		// Unplugged by hand (xe vif-unplug): plugging it again gives its
		// port back to dom0's integration bridge, untagged.
		if vm, rec, _ := viewOf(inv, p.lab).domURecord(); vm == "" || rec.PowerState != xapi.PowerRunning {
			return errDomUDown
		}
		c, err := p.host.XAPI(ctx)
		if err != nil {
			return err
		}
		defer p.host.Changed()
		if err := c.VIFPlug(ctx, ref); err != nil {
			return err
		}
		out.Line("the placeholder VIF %s was unplugged: plugged it again", vif.UUID)
	}
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return err
	}
	st, err := readPort(ctx, dom0, vif.UUID)
	if err != nil {
		return err
	}
	if st.tag == DeadVLAN {
		out.Line("port %s (VIF %s) is on VLAN %s", st.name, vif.UUID, DeadVLAN)
		return nil
	}
	res, err := dom0.Run(ctx, "ovs-vsctl set Port "+ssh.ShellQuote(st.name)+" tag="+DeadVLAN, ssh.Idempotent())
	if err != nil {
		return err
	}
	if res.ExitStatus != 0 {
		return fmt.Errorf("dom0: ovs-vsctl set Port %s tag=%s: exit %d: %s", st.name, DeadVLAN, res.ExitStatus,
			strings.TrimSpace(string(res.Stderr)))
	}
	was := "untagged"
	if st.tag != "" {
		was = "on VLAN " + st.tag
	}
	out.Line("placeholder port %s (VIF %s) was %s (new, or re-added by a reboot): set tag=%s", st.name, vif.UUID, was, DeadVLAN)
	return nil
}

// Destroy: the placeholder VIF goes with domU. A bridge network.attach
// made may outlive network.destroy (the simulator keeps it, as xapi
// removes an internal bridge when it unplugs the last VIF), so with the attach method the step removes the integration
// bridge of the lab's own network when no port is left on it.
func (p *placeholder) Destroy(ctx context.Context, out provision.Output) error {
	if !p.attachMode() {
		return nil
	}
	inv, err := p.host.Inventory(ctx)
	if err != nil {
		return err
	}
	ref, br, err := viewOf(inv, p.lab).integrationBridge()
	if err != nil || !owned(p.lab.Lab, inv.Networks[ref].OtherConfig) {
		return nil // gone, or adopted: not ours to remove
	}
	dom0, err := p.host.Dom0(ctx)
	if err != nil {
		return err
	}
	q := ssh.ShellQuote(br)
	res, err := dom0.Run(ctx, "if ovs-vsctl br-exists "+q+" && [ -z \"$(ovs-vsctl list-ports "+q+")\" ]; then ovs-vsctl del-br "+q+" && echo removed; fi", ssh.Idempotent())
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(res.Stdout)) == "removed" {
		out.Line("removed bridge %s that network.attach made", br)
	}
	return nil
}
