package cli

import (
	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newVerify is `xenlab verify`: the bring-up's verify step on its own,
// read-only, against the lab as it is now. It exits 0 when every promise
// of the lab holds, 1 naming each broken one (the switch, the bridge, what
// was expected and what was found). It proves the tenant path with real
// frames where the switches forward them, else with `ovs-appctl
// ofproto/trace`, and says which.
func newVerify(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "verify",
		Short: "check (only read) that both switches keep every promise of the lab",
		Long: `Check, reading only, that the lab keeps every promise: dom0 has xenlab's netwrap plugin,
domU runs with both Open vSwitch agents (q-agt, q-domua), and on the switches dom0's integration
bridge holds the placeholder on VLAN 4095 and the link to the VM network's bridge with the
VLAN flows; domU's br-int has int-br-eth1 linked to br-eth1, the flow that maps the tenant
segment (the first VLAN of the lab's range, 1000 by default) to its local VLAN, and the DHCP
and router ports on that local VLAN. Then it proves the tenant path: with real frames where the
switches forward them (sent with ovs-ofctl packet-out on dom0's integration bridge, counted
leaving the VM network's bridge, arriving on domU's eth1 and at the DHCP port), else with
ofproto/trace through each switch, saying which proof it used.
Exit 0 when every promise holds, 1 naming each that does not.`,
		Args: args(0),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := openLab(c.Context(), io, c, &lab, false)
			if err != nil {
				return err
			}
			defer l.close()
			if err := l.requireUp(c.Context(), c); err != nil {
				return l.scrub(err)
			}
			return l.scrub(runSteps(c.Context(), io, l, steps.Verify(l.cfg, l.hosts), false, nil))
		},
	}
	lab.register(c)
	lab.registerRun(c)
	return c
}
