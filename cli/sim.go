package cli

import "context"

// runSim handles `xenlab sim serve`.
func runSim(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return usagef("usage: xenlab sim serve [--dir DIR]")
	}
	return notBuiltError{"the simulated XenServer host"}
}
