package cli

import (
	"github.com/spf13/cobra"

	"xenlab/steps"
)

// newReset is `xenlab reset`: remove what the lab's OpenStack made on the
// host (nova's instances on the lab's integration network, with their
// disks), revert domU to the clean post-install snapshot `up` took, bring
// it back, put the placeholder back on VLAN 4095 and verify the lab
// (steps.Reset).
func newReset(io IO) *cobra.Command {
	var lab labFlags
	c := &cobra.Command{
		Use:   "reset",
		Short: "revert the lab to its clean post-install snapshot",
		Long: `Revert the lab to the clean snapshot 'xenlab up' took of domU: the VMs nova made
on the lab's integration network are destroyed with their disks (no other VM is
touched), domU is reverted and resumed (or started, and devstack's rejoin-stack.sh
run), the placeholder's port is put back on VLAN 4095, and the lab is verified.`,
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
			return l.scrub(runSteps(c.Context(), io, l, steps.ResetFleet(l.cfg, l.hosts), false, nil))
		},
	}
	lab.register(c)
	lab.registerRun(c)
	return c
}
